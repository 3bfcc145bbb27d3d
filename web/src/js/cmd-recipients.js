// cmd-recipients: an alert card's list of its recipients (issue 12), read
// when the operator opens it: by answer (unanswered first), searched by
// name, each with its SMS and voice-call state and, for an answer recorded
// on someone's behalf, who recorded it (由 王五（网格员）代答). A commander
// or cadre who has checked on a villager records "safe" or "needs help"
// for them from its row, after a confirmation
// (POST /api/v1/alerts/{id}/acks, docs/API.md v1.5).

import { t, ago } from './i18n.js';
import { esc, toast } from './api.js';
import { confirmModal } from './cmd-modal.js';

const pageRows = 50; // rows drawn at a time ("show N more")
const refetchEvery = 5000; // at most one refetch per this many ms while open
const filters = ['none', '', 'need_help', 'safe', 'received', 'coming', 'unavailable'];

/** answeredBy is "由 王五（网格员）代答" for an answer recorded on someone's behalf, or "". */
export function answeredBy(r) {
  const by = r.answered_by;
  if (!by || !by.name) return '';
  return `<div class="answered-by">${esc(t('alerts.answeredby', { name: by.name, role: t('role.' + by.role) }))}</div>`;
}

/** stateName is a state's label, or the state itself when the page does not know it (a newer hub). */
function stateName(group, s) {
  const k = group + '.' + s;
  const l = t(k);
  return l === k ? s : l;
}

/** stateChips are a recipient's SMS and voice-call states. */
export function stateChips(r) {
  const out = [];
  if (r.sms_state) out.push(`<span class="chip chip-sms sms-${esc(r.sms_state)}">${esc(t('alerts.sms.state', { s: stateName('sms', r.sms_state) }))}</span>`);
  if (r.voice_state) out.push(`<span class="chip chip-voice voice-${esc(r.voice_state)}" data-voice="${esc(r.voice_state)}">${esc(t('alerts.voice.state', { s: stateName('voice', r.voice_state) }))}</span>`);
  return out.join(' ');
}

export class Recipients {
  /**
   * @param ctx {api}
   * @param alert the alert
   * @param el the card's <details class="recips">
   * @param onAnswered called after an answer on someone's behalf was recorded
   */
  constructor(ctx, alert, el, onAnswered) {
    this.ctx = ctx;
    this.alert = alert;
    this.el = el;
    this.onAnswered = onAnswered;
    this.rows = [];
    this.shown = pageRows;
    this.fetchedAt = 0;
    this.timer = null;
    this.seq = 0;
    el.addEventListener('toggle', () => el.open && this.fetch());
    el.querySelector('.rc-filter').onchange = () => {
      this.shown = pageRows;
      this.fetch();
    };
    el.querySelector('.rc-q').oninput = () => {
      this.shown = pageRows;
      this.render();
    };
    el.querySelector('.rc-more').onclick = () => {
      this.shown += pageRows;
      this.render();
    };
    el.querySelector('.rc-list').onclick = (e) => this.onClick(e);
  }

  /** skeleton is the card's part for this list, closed. */
  static skeleton() {
    return `<details class="recips">
      <summary>${esc(t('alerts.recips'))} <span class="rc-count muted"></span></summary>
      <div class="rc-tools">
        <select class="rc-filter" aria-label="${esc(t('alerts.recips.filter'))}">${filters
          .map((f) => `<option value="${f}">${esc(f === '' ? t('alerts.recips.all') : f === 'none' ? t('resp.none') : t('resp.' + f))}</option>`)
          .join('')}</select>
        <input class="rc-q" type="search" placeholder="${esc(t('alerts.recips.search'))}">
      </div>
      <ul class="rc-list"></ul>
      <button type="button" class="btn btn-small rc-more" hidden></button>
    </details>`;
  }

  /** changed runs on each progress of the alert: an open list reads its rows again, not more often than every few seconds. */
  changed() {
    if (!this.el.open) return;
    const wait = this.fetchedAt + refetchEvery - Date.now();
    clearTimeout(this.timer);
    if (wait <= 0) this.fetch();
    else this.timer = setTimeout(() => this.fetch(), wait);
  }

  async fetch() {
    const seq = ++this.seq;
    this.fetchedAt = Date.now();
    const f = this.el.querySelector('.rc-filter').value;
    try {
      const res = await this.ctx.api.get('/api/v1/alerts/' + encodeURIComponent(this.alert.id) + '/recipients' + (f ? '?response=' + f : ''));
      if (seq !== this.seq) return;
      this.rows = res.recipients || [];
    } catch (e) {
      if (seq !== this.seq) return;
      this.rows = [];
      this.el.querySelector('.rc-list').innerHTML = `<li class="muted">${esc(t('common.error', { msg: e.message }))}</li>`;
      return;
    }
    this.render();
  }

  render() {
    const q = this.el.querySelector('.rc-q').value.trim().toLowerCase();
    const rows = q ? this.rows.filter((r) => !r.redacted && (r.name || '').toLowerCase().includes(q)) : this.rows;
    const list = this.el.querySelector('.rc-list');
    list.innerHTML = rows.length ? rows.slice(0, this.shown).map((r) => this.item(r)).join('') : `<li class="muted">${esc(t('alerts.recips.empty'))}</li>`;
    this.el.querySelector('.rc-count').textContent = t('alerts.recips.count', { n: rows.length });
    const more = this.el.querySelector('.rc-more');
    const left = rows.length - this.shown;
    more.hidden = left <= 0;
    more.textContent = t('alerts.recips.more', { n: Math.min(left, pageRows) });
  }

  item(r) {
    const resp = r.response ? `<span class="chip resp-chip resp-${esc(r.response)}">${esc(t('resp.' + r.response))}</span>` : `<span class="chip resp-chip resp-none">${esc(t('resp.none'))}</span>`;
    const place = [r.village_name, r.address].filter(Boolean).join(' · ');
    if (r.redacted) {
      return `<li class="redacted"><b class="name">${esc(t('alerts.othervillage'))}</b> ${resp} ${stateChips(r)}
        ${place ? `<div class="place">${esc(place)}</div>` : ''}</li>`;
    }
    const phone = r.phone ? `<a href="tel:${esc(r.phone)}" class="phone">${esc(r.phone)}</a>` : '';
    return `<li data-member-id="${esc(r.member_id)}">
      <div><b class="name">${esc(r.name)}</b> ${phone} ${resp} <span class="muted small">${esc(r.responded_at ? ago(r.responded_at) : '')}</span></div>
      ${answeredBy(r)}
      <div class="rc-states">${stateChips(r)}</div>
      ${place ? `<div class="place">${esc(place)}</div>` : ''}
      <div class="rc-act">
        <button type="button" class="btn btn-small" data-behalf="safe">${esc(t('behalf.safe'))}</button>
        <button type="button" class="btn btn-small btn-danger-outline" data-behalf="need_help">${esc(t('behalf.need_help'))}</button>
      </div>
    </li>`;
  }

  async onClick(e) {
    const b = e.target.closest('button[data-behalf]');
    if (!b) return;
    const id = b.closest('[data-member-id]').dataset.memberId;
    const r = this.rows.find((x) => x.member_id === id);
    if (!r) return;
    const response = b.dataset.behalf;
    const respText = t('resp.' + response);
    if (!(await confirmModal(t('behalf.title'), t('behalf.confirm', { name: r.name, resp: respText }), t('behalf.' + response)))) return;
    b.disabled = true;
    try {
      await this.ctx.api.post('/api/v1/alerts/' + encodeURIComponent(this.alert.id) + '/acks', { member_id: id, response });
      toast(t('behalf.done', { name: r.name, resp: respText }), 'ok');
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error', 6000);
      b.disabled = false;
      return;
    }
    this.fetch();
    if (this.onAnswered) this.onAnswered();
  }
}
