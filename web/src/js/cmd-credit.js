// cmd-credit: household inspections, the village's board and credit
// points in the command center (docs/API.md v1.6, issue 16 part 5): pick a
// village and a month, score each household on the policy's items (one
// row each, saved one at a time), see the ranking with its red and black
// boards, publish the board (which gives the board places their points,
// once), give points by a rule or by hand, and download the credit export
// (CSV for the bank).

import { t, onLangChange } from './i18n.js';
import { esc, toast } from './api.js';

const $ = (id) => document.getElementById(id);

export class Credit {
  constructor(ctx) {
    this.ctx = ctx; // {api, villages, member}
    this.rules = null; // GET /api/v1/credit/rules
    this.households = [];
    this.board = null;
    onLangChange(() => {
      this.renderVillages();
      this.renderRules();
      this.render();
    });
    $('cr-village').onchange = () => this.load();
    $('cr-month').onchange = () => this.load();
    $('cr-publish').onclick = () => this.publish();
    $('cr-export').onclick = () => this.exportCSV();
    $('cr-rule').onchange = () => ($('cr-points-row').hidden = $('cr-rule').value !== '');
    $('cr-add-form').onsubmit = (e) => {
      e.preventDefault();
      this.addPoints();
    };
    $('cr-table').onclick = (e) => {
      const b = e.target.closest('button[data-save]');
      if (b) this.save(b.dataset.save);
    };
  }

  setMember(member) {
    this.ctx.member = member;
    this.renderVillages();
    this.start();
  }

  async start() {
    if (!this.rules) {
      try {
        this.rules = await this.ctx.api.get('/api/v1/credit/rules');
      } catch {
        return;
      }
      if (!$('cr-month').value) $('cr-month').value = this.rules.month;
      $('cr-month').max = this.rules.month;
      this.renderRules();
    }
    this.load();
  }

  /** villages the member may keep: a cadre its own (and its township's), command every one. */
  myVillages() {
    const m = this.ctx.member;
    const vs = [...this.ctx.villages.values()].sort((a, b) => (a.township + a.name).localeCompare(b.township + b.name, 'zh-CN'));
    if (!m || m.role !== 'cadre') return vs;
    return vs.filter((v) => v.id === m.village_id || (m.township && v.township === m.township));
  }

  renderVillages() {
    const sel = $('cr-village');
    const cur = sel.value || (this.ctx.member && this.ctx.member.village_id) || '';
    sel.innerHTML = this.myVillages()
      .map((v) => `<option value="${esc(v.id)}">${esc(v.name)}（${esc(v.township)}）</option>`)
      .join('');
    if ([...sel.options].some((o) => o.value === cur)) sel.value = cur;
  }

  renderRules() {
    if (!this.rules) return;
    const zh = document.documentElement.lang !== 'en';
    const name = (x) => (zh ? x.name_zh : x.name_en);
    $('cr-rule').innerHTML =
      `<option value="">${esc(t('crc.manual'))}</option>` +
      this.rules.rules
        .map((r) => `<option value="${esc(r.id)}">${esc(name(r))}（${r.points > 0 ? '+' : ''}${r.points}）</option>`)
        .join('');
    $('cr-points-row').hidden = $('cr-rule').value !== '';
  }

  async load() {
    const v = $('cr-village').value;
    const month = $('cr-month').value;
    if (!v || !month || !this.rules) return;
    try {
      const hs = [];
      let after = '';
      for (let i = 0; i < 20; i++) {
        const r = await this.ctx.api.get(
          `/api/v1/households?village_id=${encodeURIComponent(v)}&limit=500&after=${encodeURIComponent(after)}`,
        );
        hs.push(...r.households);
        if (!r.next_after) break;
        after = r.next_after;
      }
      this.households = hs;
      this.board = (await this.ctx.api.get(`/api/v1/boards?village_id=${encodeURIComponent(v)}&month=${encodeURIComponent(month)}`)).board;
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
      return;
    }
    $('cr-household').innerHTML = this.households
      .map((h) => `<option value="${esc(h.id)}">${esc(h.name)}</option>`)
      .join('');
    this.render();
  }

  render() {
    if (!this.rules || !this.board) return;
    const zh = document.documentElement.lang !== 'en';
    const items = this.rules.items;
    const byID = new Map(this.board.ranking.map((p) => [p.household_id, p]));
    const published = this.board.published;
    $('cr-state').textContent = published ? t('crc.published') : t('crc.draft', { n: this.board.ranking.length, all: this.households.length });
    $('cr-publish').disabled = published || !this.board.ranking.length;
    // Ranked households first (by place), then the others by name.
    const rows = [...this.households].sort((a, b) => {
      const pa = byID.get(a.id)?.place ?? 1e9;
      const pb = byID.get(b.id)?.place ?? 1e9;
      return pa - pb || a.name.localeCompare(b.name, 'zh-CN');
    });
    const head = `<tr><th>${esc(t('crc.place'))}</th><th>${esc(t('crc.household'))}</th>${items
      .map((it) => `<th>${esc(zh ? it.name_zh : it.name_en)}<span class="muted">/${it.max}</span></th>`)
      .join('')}<th>${esc(t('crc.total'))}</th><th></th></tr>`;
    const body = rows
      .map((h) => {
        const p = byID.get(h.id);
        const mark = p && p.board ? `<span class="chip cr-${p.board}">${esc(t('crc.' + p.board))}</span>` : '';
        return `<tr data-household-id="${esc(h.id)}"><td>${p ? p.place : '-'} ${mark}</td><td>${esc(h.name)}</td>${items
          .map(
            (it) =>
              `<td><input type="number" min="0" max="${it.max}" step="1" data-item="${esc(it.id)}" value="${
                p && p.scores[it.id] !== undefined ? p.scores[it.id] : ''
              }"${published ? ' disabled' : ''}></td>`,
          )
          .join('')}<td>${p ? p.total : ''}</td><td>${
          published ? '' : `<button type="button" class="btn btn-small" data-save="${esc(h.id)}">${esc(t('common.save'))}</button>`
        }</td></tr>`;
      })
      .join('');
    $('cr-table').innerHTML = rows.length ? `<table class="cr-table">${head}${body}</table>` : `<div class="muted">${esc(t('crc.nohouseholds'))}</div>`;
  }

  async save(householdID) {
    const row = $('cr-table').querySelector(`tr[data-household-id="${CSS.escape(householdID)}"]`);
    const scores = {};
    for (const inp of row.querySelectorAll('input[data-item]')) {
      if (inp.value === '') return toast(t('crc.missing'), 'error');
      scores[inp.dataset.item] = Number(inp.value);
    }
    try {
      await this.ctx.api.post('/api/v1/inspections', { household_id: householdID, month: $('cr-month').value, scores });
    } catch (e) {
      return toast(t('common.error', { msg: e.message }), 'error');
    }
    toast(t('common.saved'), 'ok');
    this.load();
  }

  async publish() {
    const month = $('cr-month').value;
    if (!confirm(t('crc.publish.confirm', { month }))) return;
    try {
      const r = await this.ctx.api.post('/api/v1/boards/publish', { village_id: $('cr-village').value, month });
      toast(t('crc.publish.done', { n: r.awarded }), 'ok');
    } catch (e) {
      return toast(t('common.error', { msg: e.message }), 'error');
    }
    this.load();
  }

  async addPoints() {
    const body = { household_id: $('cr-household').value, reason: $('cr-reason').value.trim() };
    if ($('cr-rule').value) body.rule = $('cr-rule').value;
    else body.points = Number($('cr-points').value);
    try {
      const r = await this.ctx.api.post('/api/v1/credit', body);
      toast(t('crc.added', { balance: r.balance, level: r.level }), 'ok');
      $('cr-reason').value = '';
      $('cr-points').value = '';
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
    }
  }

  /** exportCSV downloads the credit export (a header token, so fetch and a blob link). */
  async exportCSV() {
    const v = $('cr-village').value;
    try {
      const res = await fetch('/api/v1/credit/export.csv?village_id=' + encodeURIComponent(v), {
        headers: { Authorization: 'Bearer ' + this.ctx.api.token },
        cache: 'no-store',
      });
      if (!res.ok) throw new Error(res.statusText || String(res.status));
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `credit-${v}-${$('cr-month').value}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
    }
  }

  /** onBoard: a board event (another cadre published): reload when it is the one shown. */
  onBoard(b) {
    if (b && b.village_id === $('cr-village').value && b.month === $('cr-month').value) this.load();
  }
}
