// cmd-alerts: live progress of each active alert. The WebSocket pushes
// alert_progress; the bars move in place (CSS transitions) and the list of
// those who need help is fetched again whenever their number changes. A
// mobilization over a reach also lists its responders by the time they
// need to arrive (recipients?order=eta, docs/API.md v1.3).
//
// Issue 12 (docs/API.md v1.5): the voice calls' states beside the SMS
// ones, how long the SMS still take, how many answers were recorded on
// someone's behalf and by whom, and a recipients list from which the
// operator answers for someone it has checked on (cmd-recipients.js).

import { t, onLangChange, ago, clock } from './i18n.js';
import { esc, toast } from './api.js';
import { confirmModal } from './cmd-modal.js';
import { Recipients, answeredBy, stateChips } from './cmd-recipients.js';
import { longDuration } from './cmd-util.js';
import { exerciseChip, capDetails } from './alert-cap.js';
import { editAlert } from './cmd-edit.js';

const $ = (id) => document.getElementById(id);
const answerKeys = ['received', 'safe', 'need_help', 'coming', 'unavailable'];
const smsKeys = ['queued', 'sent', 'delivered', 'failed'];
const voiceKeys = ['queued', 'sent', 'delivered', 'failed'];
const refreshEvery = 30000;
const rosterMax = 30; // responders listed by time to arrive

/** isReachMobilization: the alerts whose recipients carry computed ETAs worth ordering by. */
function isReachMobilization(a) {
  return a.kind === 'mobilization' && a.area && !!a.area.reach;
}

export class Alerts {
  constructor(ctx) {
    this.ctx = ctx; // {api, cmap, villages, onBadge}
    this.recs = new Map(); // id -> {alert, progress, needHelp, coming, el, fetching}
    this.loaded = false;
    onLangChange(() => this.renderAll());
    setInterval(() => this.loaded && this.load(), refreshEvery);
    $('alerts').onclick = (e) => this.onClick(e);
  }

  /** load reads the active alerts and their progress; alerts no longer active leave the list. */
  async load() {
    let list;
    try {
      list = (await this.ctx.api.get('/api/v1/alerts?status=active')).alerts;
    } catch (e) {
      return;
    }
    this.loaded = true;
    const ids = new Set(list.map((a) => a.id));
    for (const id of [...this.recs.keys()]) if (!ids.has(id)) this.drop(id);
    await Promise.all(list.map((a) => this.add(a)));
    this.renderAll();
  }

  /** add starts following an alert (just sent here, or seen in a progress event). */
  async add(alert) {
    let rec = this.recs.get(alert.id);
    if (!rec) {
      rec = { alert, progress: null, needHelp: [], coming: [], roster: [], el: null, lastNeedHelp: -1, lastComing: -1, fetchedAt: 0 };
      this.recs.set(alert.id, rec);
    } else rec.alert = alert;
    try {
      const d = await this.ctx.api.get('/api/v1/alerts/' + encodeURIComponent(alert.id));
      rec.alert = d.alert;
      if (d.alert.status !== 'active') {
        this.drop(alert.id);
        return;
      }
      this.applyProgress(rec, d.progress);
    } catch (e) {
      if (e.status === 404 || e.status === 403) this.drop(alert.id);
    }
  }

  onSent(alert) {
    this.add(alert).then(() => this.renderAll());
  }

  /**
   * onProgress handles an alert_progress event. Its status (a hub extension
   * of docs/API.md) tells at once that an alert was cancelled or expired
   * elsewhere, e.g. by another commander.
   */
  async onProgress(id, progress, status) {
    let rec = this.recs.get(id);
    if (status && status !== 'active') {
      if (rec) this.onCancel(id);
      return;
    }
    if (!rec) {
      // An alert another commander sent, or one we have not loaded yet.
      try {
        const d = await this.ctx.api.get('/api/v1/alerts/' + encodeURIComponent(id));
        if (d.alert.status !== 'active' || this.recs.has(id)) return;
        rec = { alert: d.alert, progress: null, needHelp: [], coming: [], roster: [], el: null, lastNeedHelp: -1, lastComing: -1, fetchedAt: 0 };
        this.recs.set(id, rec);
        this.renderAll();
      } catch {
        return;
      }
    }
    this.applyProgress(rec, progress);
  }

  onCancel(id) {
    this.drop(id);
    this.renderAll();
  }

  /** onUpdate shows an alert updated in place (v1.6), here or elsewhere. */
  onUpdate(alert) {
    const rec = this.recs.get(alert.id);
    if (!rec) return;
    rec.alert = { ...rec.alert, ...alert };
    this.renderAll();
    this.add(rec.alert).then(() => this.renderAll());
  }

  applyProgress(rec, progress) {
    rec.progress = progress;
    this.updateCard(rec);
    const nh = progress.acked.need_help || 0;
    const coming = progress.acked.coming || 0;
    if (nh !== rec.lastNeedHelp || (rec.alert.kind === 'mobilization' && coming !== rec.lastComing) || Date.now() - rec.fetchedAt > 15000) {
      rec.lastNeedHelp = nh;
      rec.lastComing = coming;
      this.fetchPeople(rec);
    }
    this.badge();
  }

  async fetchPeople(rec) {
    if (rec.fetching) {
      rec.refetch = true;
      return;
    }
    rec.fetching = true;
    rec.fetchedAt = Date.now();
    try {
      const base = '/api/v1/alerts/' + encodeURIComponent(rec.alert.id) + '/recipients';
      const eta = isReachMobilization(rec.alert) ? '&order=eta' : '';
      rec.needHelp = (await this.ctx.api.get(base + '?response=need_help')).recipients;
      if (rec.alert.kind === 'mobilization') rec.coming = (await this.ctx.api.get(base + '?response=coming' + eta)).recipients;
      if (eta) rec.roster = (await this.ctx.api.get(base + '?order=eta')).recipients;
      this.renderPeople(rec);
      this.updateMap();
    } catch {
      // next progress event tries again
    } finally {
      rec.fetching = false;
      if (rec.refetch) {
        rec.refetch = false;
        this.fetchPeople(rec);
      }
    }
  }

  drop(id) {
    const rec = this.recs.get(id);
    if (rec && rec.el) rec.el.remove();
    if (rec && rec.recips) clearTimeout(rec.recips.timer);
    this.recs.delete(id);
    this.updateMap();
    this.badge();
  }

  sorted() {
    return [...this.recs.values()].sort(
      (a, b) => (b.progress?.acked.need_help || 0) - (a.progress?.acked.need_help || 0) || b.alert.created_at.localeCompare(a.alert.created_at),
    );
  }

  renderAll() {
    const box = $('alerts');
    box.innerHTML = '';
    const list = this.sorted();
    if (!list.length) box.innerHTML = `<div class="empty">${esc(t('alerts.empty'))}</div>`;
    for (const rec of list) {
      rec.el = this.cardSkeleton(rec);
      box.appendChild(rec.el);
      this.updateCard(rec);
      this.renderPeople(rec);
    }
    this.updateMap();
    this.badge();
  }

  cardSkeleton(rec) {
    const a = rec.alert;
    const row = (group, k, label) =>
      `<div class="bar-row bar-${group}-${k}" data-k="${group}.${k}"><span class="bl">${esc(label)}</span><div class="bar"><i></i></div><span class="bn">0</span></div>`;
    const el = document.createElement('article');
    el.className = `acard sev-${a.severity}`;
    el.dataset.alertId = a.id;
    el.innerHTML = `
      <div class="acard-head">
        ${exerciseChip(a)}<span class="chip chip-${esc(a.severity)}">${esc(t('kind.' + a.kind))} · ${esc(t('sev.' + a.severity))}</span>
        <span class="muted" title="${esc(a.created_at)}">${esc(clock(a.created_at))} · ${esc(ago(a.created_at))}</span>
        <span class="muted targeted"></span>
        <span class="chip chip-onbehalf" hidden></span>
      </div>
      <h3>${esc(a.title)}</h3>
      ${a.body ? `<p class="abody">${esc(a.body)}</p>` : ''}
      ${a.updated_at ? `<div class="muted updated">${esc(t('alert.updated'))} ${esc(clock(a.updated_at))}</div>` : ''}
      ${capDetails(a)}
      <div class="needhelp">
        <h4><span>${esc(t('alerts.needhelp'))}</span> <b class="nh-count">0</b></h4>
        <ul class="nh-list"></ul>
      </div>
      ${a.kind === 'mobilization' ? `<div class="coming"><h4>${esc(t('resp.coming'))} <b class="co-count">0</b></h4><ul class="co-list"></ul></div>` : ''}
      ${isReachMobilization(a) ? `<details class="roster" open><summary>${esc(t('alerts.roster'))} <span class="ro-count"></span></summary><ol class="ro-list"></ol></details>` : ''}
      <div class="bars">
        ${row('p', 'delivered', t('alerts.delivered'))}
        <div class="bar-title">${esc(t('alerts.answers'))}</div>
        ${answerKeys.map((k) => row('a', k, t('resp.' + k))).join('')}
        <div class="bar-title">${esc(t('alerts.sms'))}</div>
        ${smsKeys.map((k) => row('s', k, t('sms.' + k))).join('')}
        <div class="sms-eta help" hidden></div>
        <div class="voice-bars" hidden>
          <div class="bar-title">${esc(t('alerts.voice'))}</div>
          ${voiceKeys.map((k) => row('v', k, t('voice.' + k))).join('')}
          <div class="voice-eta help" hidden></div>
        </div>
      </div>
      ${Recipients.skeleton()}
      <div class="acard-actions">
        <button type="button" class="btn btn-small" data-act="show">${esc(t('alerts.show'))}</button>
        <button type="button" class="btn btn-small" data-act="edit">${esc(t('alerts.edit'))}</button>
        <button type="button" class="btn btn-small" data-act="allclear">${esc(t('alerts.allclear'))}</button>
        <button type="button" class="btn btn-small btn-danger" data-act="cancel">${esc(t('alerts.cancel'))}</button>
      </div>`;
    this.attachRecipients(rec, el);
    return el;
  }

  /**
   * attachRecipients gives a (re)built card its recipients list; a list
   * that was open stays open with its filter, search and rows (cards are
   * rebuilt on every reload and language change).
   */
  attachRecipients(rec, el) {
    const d = el.querySelector('details.recips');
    const old = rec.recips;
    rec.recips = new Recipients(this.ctx, rec.alert, d, () => this.add(rec.alert));
    if (!old) return;
    d.querySelector('.rc-filter').value = old.el.querySelector('.rc-filter').value;
    d.querySelector('.rc-q').value = old.el.querySelector('.rc-q').value;
    rec.recips.rows = old.rows;
    rec.recips.shown = old.shown;
    rec.recips.fetchedAt = old.fetchedAt;
    clearTimeout(old.timer);
    old.seq++; // a fetch in flight for the old card is dropped
    if (old.el.open) {
      d.open = true;
      rec.recips.render();
    }
  }

  updateCard(rec) {
    const el = rec.el;
    const p = rec.progress;
    if (!el || !p) return;
    const total = Math.max(p.targeted, 1);
    el.querySelector('.targeted').textContent = t('alerts.targeted', { n: p.targeted });
    const set = (k, n, of = p.targeted) => {
      const r = el.querySelector(`[data-k="${k}"]`);
      if (!r) return;
      r.querySelector('i').style.width = Math.min(100, (100 * n) / Math.max(of, 1)) + '%';
      r.querySelector('.bn').textContent = of ? `${n} / ${of}` : String(n);
      r.classList.toggle('zero', !n);
    };
    set('p.delivered', p.delivered);
    for (const k of answerKeys) set('a.' + k, p.acked[k] || 0);
    const smsTotal = smsKeys.reduce((s, k) => s + (p.sms[k] || 0), 0);
    for (const k of smsKeys) set('s.' + k, p.sms[k] || 0, Math.max(smsTotal, 0) || 0);
    el.querySelector('.nh-count').textContent = p.acked.need_help || 0;
    el.classList.toggle('has-need-help', (p.acked.need_help || 0) > 0);
    // Issue 12: the voice calls, the SMS still to send, answers on someone's behalf.
    const v = p.voice || null;
    const voiceTotal = v ? voiceKeys.reduce((s, k) => s + (v[k] || 0), 0) : 0;
    el.querySelector('.voice-bars').hidden = !voiceTotal && !(rec.alert.voice_after_s > 0);
    for (const k of voiceKeys) set('v.' + k, (v && v[k]) || 0, voiceTotal);
    const eta = p.sms && p.sms.eta_s;
    const etaEl = el.querySelector('.sms-eta');
    etaEl.hidden = !(eta > 0);
    etaEl.textContent = eta > 0 ? t('alerts.sms.eta', { t: longDuration(eta) }) : '';
    const vEta = v && v.eta_s;
    const vEtaEl = el.querySelector('.voice-eta');
    vEtaEl.hidden = !(vEta > 0);
    vEtaEl.textContent = vEta > 0 ? t('alerts.voice.eta', { t: longDuration(vEta) }) : '';
    const ob = onBehalfCount(p.on_behalf);
    const obEl = el.querySelector('.chip-onbehalf');
    obEl.hidden = !ob;
    obEl.textContent = ob ? t('alerts.onbehalf', { n: ob }) : '';
    if (rec.recips) rec.recips.changed();
    void total;
  }

  /** etaChips are a recipient's computed ETA (v1.3), its own answered ETA and its travel mode. */
  etaChips(r) {
    const out = [];
    if (r.eta_min_computed !== undefined && r.eta_min_computed !== null) out.push(`<span class="chip eta-chip eta-computed">${esc(t('alerts.eta.computed', { n: r.eta_min_computed }))}</span>`);
    if (r.eta_min !== undefined && r.eta_min !== null) out.push(`<span class="chip eta-answered">${esc(t('alerts.eta.answered', { n: r.eta_min }))}</span>`);
    if (r.travel_mode) out.push(`<span class="chip mode-chip">${esc(t('mode.' + r.travel_mode))}</span>`);
    return out.join(' ');
  }

  /** placeLine is "village · address" of a recipient (v1.3), or "". */
  placeLine(r) {
    const parts = [r.village_name, r.address].filter(Boolean);
    return parts.length ? `<div class="place">${esc(parts.join(' · '))}</div>` : '';
  }

  /** nameOf is a recipient's name, or "someone of another village" for a row a cadre may not see whole (v1.4). */
  nameOf(r) {
    return r.redacted ? t('alerts.othervillage') : r.name;
  }

  personItem(r) {
    if (r.redacted) {
      return `<li class="redacted"><b class="name">${esc(this.nameOf(r))}</b>
      ${this.placeLine(r)}
      <div class="muted">${esc(r.responded_at ? ago(r.responded_at) : '')}</div></li>`;
    }
    const pos = r.live || r.home;
    const where = pos
      ? `<a href="#" class="pos" data-lat="${pos.lat}" data-lng="${pos.lng}">${esc(r.live ? t('alerts.live') : t('alerts.home'))} ${pos.lat.toFixed(4)}, ${pos.lng.toFixed(4)}</a>`
      : `<span class="muted">${esc(t('alerts.nopos'))}</span>`;
    const phone = r.phone ? `<a href="tel:${esc(r.phone)}" class="phone">${esc(r.phone)}</a>` : '';
    return `<li data-member-id="${esc(r.member_id)}"><b class="name">${esc(r.name)}</b> ${phone}
      ${this.etaChips(r)}
      ${this.placeLine(r)}
      <div class="muted">${where} · ${esc(r.responded_at ? ago(r.responded_at) : '')}</div>
      ${answeredBy(r)}${r.voice_state ? `<div class="rc-states">${stateChips({ voice_state: r.voice_state })}</div>` : ''}
      ${r.note ? `<div class="note">${esc(t('alerts.note'))}：${esc(r.note)}</div>` : ''}</li>`;
  }

  /** rosterItem is one line of the by-ETA roster. */
  rosterItem(r) {
    const phone = r.phone ? `<a href="tel:${esc(r.phone)}" class="phone">${esc(r.phone)}</a>` : '';
    const eta = r.eta_min_computed === undefined || r.eta_min_computed === null ? `<span class="chip">${esc(t('alerts.eta.unknown'))}</span>` : '';
    return `<li data-member-id="${esc(r.member_id)}"${r.redacted ? ' class="redacted"' : ''}><b class="name">${esc(this.nameOf(r))}</b> ${phone} ${this.etaChips(r)} ${eta}
      <span class="muted">${esc(r.response ? t('resp.' + r.response) : t('resp.none'))}</span>${this.placeLine(r)}</li>`;
  }

  renderPeople(rec) {
    if (!rec.el) return;
    const ul = rec.el.querySelector('.nh-list');
    ul.innerHTML = rec.needHelp.length ? rec.needHelp.map((r) => this.personItem(r)).join('') : `<li class="muted">${esc(t('alerts.needhelp.none'))}</li>`;
    const co = rec.el.querySelector('.co-list');
    if (co) {
      co.innerHTML = rec.coming.map((r) => this.personItem(r)).join('');
      rec.el.querySelector('.co-count').textContent = rec.coming.length;
    }
    const ro = rec.el.querySelector('.ro-list');
    if (ro) {
      const more = rec.roster.length - rosterMax;
      ro.innerHTML = rec.roster.slice(0, rosterMax).map((r) => this.rosterItem(r)).join('') + (more > 0 ? `<li class="muted">${esc(t('alerts.roster.more', { n: more }))}</li>` : '');
      rec.el.querySelector('.ro-count').textContent = `(${rec.roster.length})`;
    }
  }

  updateMap() {
    const alerts = [...this.recs.values()].map((r) => r.alert);
    this.ctx.cmap.setAlertAreas(alerts, this.ctx.villages);
    this.ctx.cmap.setNeedHelp([...this.recs.values()].flatMap((r) => r.needHelp));
  }

  badge() {
    const n = [...this.recs.values()].reduce((s, r) => s + (r.progress?.acked.need_help || 0), 0);
    this.ctx.onBadge(n);
  }

  async onClick(e) {
    const pos = e.target.closest('a.pos');
    if (pos) {
      e.preventDefault();
      this.ctx.cmap.flyTo(Number(pos.dataset.lat), Number(pos.dataset.lng), 15);
      return;
    }
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const id = b.closest('[data-alert-id]').dataset.alertId;
    const rec = this.recs.get(id);
    if (!rec) return;
    const a = rec.alert;
    if (b.dataset.act === 'show') {
      this.ctx.cmap.fitArea(a.area, this.ctx.villages);
      return;
    }
    if (b.dataset.act === 'edit') {
      const upd = await editAlert(this.ctx.api, a, this.ctx.drawnArea);
      if (upd) this.onUpdate(upd);
      return;
    }
    if (b.dataset.act === 'cancel') {
      if (!(await confirmModal(t('alerts.cancel'), `${a.title}\n${t('alerts.cancel.confirm')}`, t('alerts.cancel')))) return;
      await this.cancel(id);
      return;
    }
    if (b.dataset.act === 'allclear') {
      if (!(await confirmModal(t('alerts.allclear'), `${a.title}\n${t('alerts.allclear.confirm')}`, t('alerts.allclear')))) return;
      // The all-clear goes to the same area and roles first; then the alert ends.
      const body = {
        kind: 'all_clear',
        severity: 'minor',
        title: t('alerts.allclear.title', { title: a.title }).slice(0, 200),
        body: t('alerts.allclear.body'),
        area: a.area,
        expires_at: new Date(Date.now() + 2 * 3600e3).toISOString(),
      };
      if (a.roles && a.roles.length) body.roles = a.roles;
      try {
        const res = await this.ctx.api.post('/api/v1/alerts', body);
        this.onSent(res.alert);
      } catch (err) {
        toast(t('common.error', { msg: err.message }), 'error');
        return;
      }
      await this.cancel(id);
    }
  }

  async cancel(id) {
    try {
      await this.ctx.api.post('/api/v1/alerts/' + encodeURIComponent(id) + '/cancel');
    } catch (err) {
      if (err.status !== 409) {
        toast(t('common.error', { msg: err.message }), 'error');
        return;
      }
    }
    toast(t('alerts.cancelled'), 'ok');
    this.drop(id);
    this.renderAll();
  }
}

/** onBehalfCount reads progress.on_behalf: a count, or counts by answer. */
function onBehalfCount(ob) {
  if (typeof ob === 'number') return ob;
  if (ob && typeof ob === 'object') return Object.values(ob).reduce((s, n) => s + (Number(n) || 0), 0);
  return 0;
}
