// cmd-bulletins: publish a bulletin to one village or the whole county,
// and list the recent ones.

import { t, onLangChange, clock } from './i18n.js';
import { esc, toast } from './api.js';

const $ = (id) => document.getElementById(id);
const categories = ['notice', 'village_affairs', 'party_affairs', 'finance', 'jobs', 'other'];

export class Bulletins {
  constructor(ctx) {
    this.ctx = ctx; // {api, villages, member}
    this.list = [];
    onLangChange(() => {
      this.renderForm();
      this.render();
    });
    $('bulletin-form').onsubmit = (e) => {
      e.preventDefault();
      this.publish();
    };
    this.renderForm();
  }

  renderForm() {
    const cur = $('b-village').value;
    const cadre = this.ctx.member && this.ctx.member.role === 'cadre';
    const vs = [...this.ctx.villages.values()].sort((a, b) => (a.township + a.name).localeCompare(b.township + b.name, 'zh-CN'));
    $('b-village').innerHTML =
      (cadre ? '' : `<option value="">${esc(t('common.county'))}</option>`) +
      vs
        .filter((v) => !cadre || v.id === this.ctx.member.village_id)
        .map((v) => `<option value="${esc(v.id)}">${esc(v.name)}（${esc(v.township)}）</option>`)
        .join('');
    if ([...$('b-village').options].some((o) => o.value === cur)) $('b-village').value = cur;
    const cat = $('b-category').value || 'notice';
    $('b-category').innerHTML = categories.map((c) => `<option value="${c}">${esc(t('bc.' + c))}</option>`).join('');
    $('b-category').value = cat;
  }

  async load() {
    try {
      this.list = (await this.ctx.api.get('/api/v1/bulletins')).bulletins;
    } catch {
      return;
    }
    this.render();
  }

  onEvent(b) {
    if (!this.list.some((x) => x.id === b.id)) this.list.unshift(b);
    this.render();
  }

  render() {
    const box = $('bulletins');
    const list = [...this.list].sort((a, b) => b.published_at.localeCompare(a.published_at)).slice(0, 50);
    box.innerHTML = list.length
      ? list
          .map((b) => {
            const v = b.village_id ? this.ctx.villages.get(b.village_id) : null;
            return `<article class="bcard" data-bulletin-id="${esc(b.id)}"><div class="muted small"><span class="chip">${esc(t('bc.' + b.category))}</span>
              ${esc(v ? v.name : t('common.county'))} · ${esc(clock(b.published_at))}</div>
              <b>${esc(b.title)}</b><p>${esc(b.body)}</p></article>`;
          })
          .join('')
      : `<div class="empty">${esc(t('bulletins.empty'))}</div>`;
  }

  async publish() {
    const body = {
      village_id: $('b-village').value,
      category: $('b-category').value,
      title: $('b-title').value.trim(),
      body: $('b-body').value.trim(),
    };
    if (!body.title) {
      $('b-title').focus();
      return toast(t('compose.need.title'), 'error');
    }
    try {
      const { bulletin } = await this.ctx.api.post('/api/v1/bulletins', body);
      this.onEvent(bulletin);
      $('b-title').value = '';
      $('b-body').value = '';
      toast(t('bulletins.published'), 'ok');
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
    }
  }
}
