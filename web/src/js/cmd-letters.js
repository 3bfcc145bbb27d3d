// cmd-letters: the villager mailbox for the staff in the command center
// (docs/API.md v1.6): the letters addressed, escalated or shared to the
// signed-in cadre or commander, open ones first, overdue ones in red;
// read a letter's thread, answer it, close it. `letter` events reload
// the list.

import { t, onLangChange, clock } from './i18n.js';
import { esc, toast } from './api.js';

const $ = (id) => document.getElementById(id);

export class Letters {
  constructor(ctx) {
    this.ctx = ctx; // {api}
    this.list = [];
    this.open = null;
    this.filter = 'open';
    onLangChange(() => this.render());
    $('l-filter').onclick = (e) => {
      const b = e.target.closest('button[data-filter]');
      if (!b) return;
      this.filter = b.dataset.filter;
      for (const x of $('l-filter').querySelectorAll('button')) x.classList.toggle('active', x === b);
      this.load();
    };
    $('letters').onclick = (e) => this.onClick(e);
  }

  async load() {
    const q = this.filter === 'open' ? '?status=open&limit=200' : '?limit=200';
    try {
      this.list = (await this.ctx.api.get('/api/v1/letters' + q)).letters || [];
    } catch {
      return;
    }
    this.render();
  }

  onEvent(l) {
    this.load();
    if (this.open && this.open.id === l.id) this.read(l.id);
  }

  async read(id) {
    try {
      this.open = (await this.ctx.api.get('/api/v1/letters/' + encodeURIComponent(id))).letter;
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
      return;
    }
    this.render();
  }

  async onClick(e) {
    const b = e.target.closest('button[data-act]');
    if (b) {
      if (b.dataset.act === 'back') {
        this.open = null;
        this.render();
        return;
      }
      const body = ($('l-reply') && $('l-reply').value.trim()) || '';
      const close = b.dataset.act === 'close';
      if (!close && !body) return;
      b.disabled = true;
      try {
        await this.ctx.api.post('/api/v1/letters/' + encodeURIComponent(this.open.id) + '/reply', { body, close });
        toast(t('mail.answered'), 'ok');
        await this.read(this.open.id);
        this.load();
      } catch (err) {
        toast(t('common.error', { msg: err.message }), 'error');
        b.disabled = false;
      }
      return;
    }
    const card = e.target.closest('[data-letter-id]');
    if (card) this.read(card.dataset.letterId);
  }

  render() {
    const box = $('letters');
    if (this.open) {
      const l = this.open;
      const thread = (l.thread || [])
        .map((e) => {
          let text = e.body || '';
          if (e.kind === 'overdue') text = t('mail.step.overdue');
          if (e.kind === 'escalate') text = t('mail.step.escalate', { level: t('mail.level.' + e.level) });
          if (e.kind === 'share') text = t('mail.step.share');
          if (e.kind === 'close' && !text) text = t('mail.step.close');
          return `<li data-kind="${esc(e.kind)}"><span class="muted">${esc(e.actor_name || t('mail.system'))} · ${esc(clock(e.at))}</span><div>${esc(text)}</div></li>`;
        })
        .join('');
      box.innerHTML = `<div class="rcard">
  <button type="button" class="btn btn-small" data-act="back">${esc(t('mail.back'))}</button>
  <h3>${esc(l.subject)} ${l.overdue && l.status === 'open' ? `<span class="due overdue">${esc(t('mail.overdue'))}</span>` : ''}</h3>
  <div class="muted">${esc(l.writer_name)} · ${esc(t('mail.to.' + l.to))} · ${esc(t('mail.level.' + l.level))} · ${esc(t('mail.status.' + l.status))}</div>
  <ol class="thread">${thread}</ol>
  ${
    l.status === 'closed'
      ? ''
      : `<textarea id="l-reply" rows="3" maxlength="5000"></textarea>
  <div><button type="button" class="btn btn-primary" data-act="reply">${esc(t('mail.reply.send'))}</button>
  <button type="button" class="btn" data-act="close">${esc(t('mail.close'))}</button></div>`
  }
</div>`;
      return;
    }
    if (!this.list.length) {
      box.innerHTML = `<div class="muted">${esc(t('mail.none'))}</div>`;
      return;
    }
    box.innerHTML = this.list
      .map(
        (l) => `<div class="rcard letter" data-letter-id="${esc(l.id)}" tabindex="0">
  <strong>${esc(l.subject)}</strong>
  ${l.overdue && l.status === 'open' ? `<span class="due overdue">${esc(t('mail.overdue'))}</span>` : ''}
  <div class="muted">${esc(l.writer_name)} · ${esc(t('mail.level.' + l.level))} · ${esc(t('mail.status.' + l.status))} · ${esc(clock(l.created_at))}</div>
</div>`,
      )
      .join('');
  }
}
