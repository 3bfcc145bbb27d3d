// cmd-capfeed: the CAP feeds' pending messages (docs/API.md v1.6, "CAP
// feeds in"): an alert a feed's rule did not send at once waits here for a
// commander's approve (it is sent as them) or discard.

import { t, onLangChange, ago } from './i18n.js';
import { esc, toast } from './api.js';

const $ = (id) => document.getElementById(id);

export class CAPPending {
  constructor(ctx, onSent) {
    this.ctx = ctx;
    this.onSent = onSent;
    this.list = [];
    onLangChange(() => this.render());
    setInterval(() => this.enabled && this.load(), 30000);
    $('cap-pending').onclick = (e) => this.onClick(e);
  }

  /** setMember shows the panel to commanders and admins only. */
  setMember(m) {
    this.enabled = m.role === 'commander' || m.role === 'admin';
    if (this.enabled) this.load();
    else $('cap-pending').hidden = true;
  }

  async load() {
    try {
      this.list = (await this.ctx.api.get('/api/v1/cap/pending?status=pending')).pending;
    } catch {
      return;
    }
    this.render();
  }

  render() {
    const box = $('cap-pending');
    box.hidden = !this.list.length;
    box.innerHTML = `<h3>${esc(t('cap.pending.title', { n: this.list.length }))}</h3>` + this.list
      .map((p) => `<div class="cap-pending-item" data-id="${esc(p.id)}">
        <div><span class="chip chip-${esc(p.severity)}">${esc(t('sev.' + p.severity))}</span> <b>${esc(p.headline)}</b></div>
        <div class="muted">${esc(p.sender)} · ${esc(ago(p.received_at))} · ${esc(p.reason)}</div>
        <div class="acard-actions">
          <button type="button" class="btn btn-small" data-act="discard">${esc(t('cap.pending.discard'))}</button>
          <button type="button" class="btn btn-small btn-danger" data-act="approve">${esc(t('cap.pending.approve'))}</button>
        </div></div>`)
      .join('');
  }

  async onClick(e) {
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const id = b.closest('[data-id]').dataset.id;
    try {
      const res = await this.ctx.api.post(`/api/v1/cap/pending/${encodeURIComponent(id)}/${b.dataset.act}`);
      if (res.alert) this.onSent(res.alert);
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
    }
    this.load();
  }
}
