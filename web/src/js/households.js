// Households (户) on the member page, for patrols and cadres (docs/API.md
// v1.5, issue 12): while an alert is active, the alert's recipients of the
// member's own village with each one's answer and who gave it; buttons to
// answer for a villager the patrol has checked on (安全 / 需要救助), and
// "I am at this house now" (我在这户), which sets the household's position
// from the phone's. Many elderly villagers keep no smartphone: the patrol
// who knocks on their door answers for them.
//
// resident.js calls setupHouseholds once and renderHouseholds whenever
// its alerts change; this file owns #households in m.html.

import { esc, toast } from './api.js';
import { t, clock } from './i18n.js';

const refreshEvery = 20000;
let ctx = null; // {api, member: () => member, alerts: () => active alerts addressed to the member}
const H = {
  alertId: null, // the alert whose households are shown
  rows: [], // recipients rows (api/behalf.go Household)
  loaded: false,
  denied: false, // 403: this member may not see the households of this alert
  busy: new Set(), // member ids with a request in flight
};

/** setupHouseholds wires the list to the page's API client, member and alerts. */
export function setupHouseholds(c) {
  ctx = c;
  setInterval(() => {
    if (!document.hidden && shown()) refresh();
  }, refreshEvery);
  document.getElementById('households').addEventListener('click', onClick);
  document.getElementById('households').addEventListener('change', (e) => {
    if (e.target.id !== 'hh-alert') return;
    H.alertId = e.target.value;
    H.rows = [];
    H.loaded = false;
    renderHouseholds();
    refresh();
  });
}

function staff() {
  const m = ctx && ctx.member();
  return !!m && (m.role === 'patrol' || m.role === 'cadre');
}

function shown() {
  return staff() && ctx.alerts().length > 0;
}

/** renderHouseholds draws the list (hidden unless a patrol or cadre has an active alert). */
export function renderHouseholds() {
  const box = document.getElementById('households');
  if (!box || !ctx) return;
  if (!shown()) {
    box.hidden = true;
    return;
  }
  const alerts = ctx.alerts();
  if (!alerts.some((a) => a.id === H.alertId)) {
    H.alertId = alerts[0].id;
    H.rows = [];
    H.loaded = false;
    H.denied = false;
    refresh();
  }
  box.hidden = false;
  const me = ctx.member();
  let html = `<h2 class="hh-title">${esc(t('hh.title'))}</h2>`;
  if (alerts.length > 1) {
    html += `<label class="field"><span>${esc(t('hh.alert'))}</span><select id="hh-alert">${alerts
      .map((a) => `<option value="${esc(a.id)}"${a.id === H.alertId ? ' selected' : ''}>${esc(a.title)}</option>`)
      .join('')}</select></label>`;
  }
  if (H.denied) {
    box.innerHTML = html + `<div class="muted">${esc(t('hh.denied'))}</div>`;
    return;
  }
  if (!H.loaded) {
    box.innerHTML = html + `<div class="muted">${esc(t('common.loading'))}</div>`;
    return;
  }
  const count = (r) => H.rows.filter((x) => x.response === r).length;
  const none = H.rows.filter((x) => !x.response).length;
  html += `<div class="hh-sum">${esc(t('hh.summary', { n: H.rows.length, safe: count('safe'), help: count('need_help'), none }))}</div>`;
  if (!H.rows.length) {
    box.innerHTML = html + `<div class="empty">${esc(t('hh.empty'))}</div>`;
    return;
  }
  // Those who need help first, then who has not answered, then the rest.
  const rank = (r) => (r.response === 'need_help' ? 0 : !r.response ? 1 : 2);
  const rows = [...H.rows].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name, 'zh-CN'));
  html += '<ul class="hh-list">';
  for (const r of rows) {
    const busy = H.busy.has(r.member_id);
    let ans = `<span class="answered answered-none">${esc(t('resp.none'))}</span>`;
    if (r.response) {
      const by = r.answered_by
        ? r.answered_by.id === me.id
          ? t('hh.by.me')
          : t('hh.by', { name: r.answered_by.name, role: t('hh.role.' + r.answered_by.role) })
        : t('hh.by.self');
      ans = `<span class="answered answered-${esc(r.response)}">${esc(t('resp.' + r.response))}</span>
        <span class="muted">${esc(by)}${r.responded_at ? ' · ' + esc(clock(r.responded_at)) : ''}</span>`;
    }
    html += `<li class="hh-row" data-member-id="${esc(r.member_id)}">
      <div class="hh-who"><strong>${esc(r.name)}</strong>${r.address ? ` <span class="muted">${esc(r.address)}</span>` : ''}</div>
      <div class="hh-answer">${ans}</div>
      <div class="hh-actions">
        <button type="button" class="btn btn-safe" data-hh="safe"${busy ? ' disabled' : ''}>${esc(t('hh.safe'))}</button>
        <button type="button" class="btn btn-help" data-hh="need_help"${busy ? ' disabled' : ''}>${esc(t('hh.help'))}</button>
        <button type="button" class="btn" data-hh="here"${busy ? ' disabled' : ''}>${esc(t('hh.here'))}</button>
      </div>
    </li>`;
  }
  box.innerHTML = html + '</ul>';
}

/** refresh reads the alert's households again. */
async function refresh() {
  const id = H.alertId;
  if (!id || !ctx) return;
  try {
    const out = await ctx.api.get('/api/v1/alerts/' + encodeURIComponent(id) + '/recipients');
    if (id !== H.alertId) return;
    const me = ctx.member();
    // A cadre reading its own village's alert gets the whole rows of every
    // village named: keep its own village's members.
    // The member itself answers on its own alert card.
    H.rows = out.recipients.filter(
      (r) => r.member_id !== me.id && !r.redacted && (!r.village_id || r.village_id === me.village_id),
    );
    H.loaded = true;
    H.denied = false;
  } catch (e) {
    if (id !== H.alertId) return;
    if (e.status === 403) {
      H.denied = true;
    } else if (!H.loaded) {
      return; // offline: try again on the next tick
    }
  }
  renderHouseholds();
}

function onClick(e) {
  const b = e.target.closest('button[data-hh]');
  if (!b) return;
  const row = H.rows.find((r) => r.member_id === b.closest('[data-member-id]').dataset.memberId);
  if (!row) return;
  if (b.dataset.hh === 'here') atHouse(row);
  else answerFor(row, b.dataset.hh);
}

/** answerFor records, after a confirmation, the answer of a villager the patrol has checked on. */
async function answerFor(row, response) {
  if (!confirm(t('hh.confirm', { name: row.name, r: t('resp.' + response) }))) return;
  const alertId = H.alertId;
  H.busy.add(row.member_id);
  renderHouseholds();
  try {
    const out = await ctx.api.post('/api/v1/alerts/' + encodeURIComponent(alertId) + '/acks', {
      member_id: row.member_id,
      response,
    });
    if (alertId === H.alertId) {
      row.response = out.ack.response;
      row.responded_at = out.ack.at;
      row.answered_by = out.ack.by;
    }
    toast(t('hh.done', { name: row.name, r: t('resp.' + response) }), 'ok');
  } catch (e) {
    toast(e.status === 0 ? t('hh.offline') : t('common.error', { msg: e.message }), 'error');
  } finally {
    H.busy.delete(row.member_id);
    renderHouseholds();
  }
}

/** atHouse sets the household's position to the phone's, after a confirmation. */
async function atHouse(row) {
  if (!confirm(t('hh.here.confirm', { name: row.name }))) return;
  if (!navigator.geolocation) {
    toast(t('m.patrol.denied'), 'error');
    return;
  }
  H.busy.add(row.member_id);
  renderHouseholds();
  try {
    const pos = await new Promise((resolve, reject) =>
      navigator.geolocation.getCurrentPosition(resolve, reject, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }),
    ).catch(() => null);
    if (!pos) {
      toast(t('m.patrol.denied'), 'error');
      return;
    }
    const c = pos.coords;
    await ctx.api.req('PUT', '/api/v1/members/' + encodeURIComponent(row.member_id) + '/home', {
      lat: c.latitude,
      lng: c.longitude,
      accuracy_m: c.accuracy,
    });
    toast(t('hh.here.done', { name: row.name }), 'ok');
  } catch (e) {
    // A hub without the route answers 404 "no such endpoint".
    toast(e.status === 404 ? t('hh.here.unavailable') : e.status === 0 ? t('hh.offline') : t('common.error', { msg: e.message }), 'error');
  } finally {
    H.busy.delete(row.member_id);
    renderHouseholds();
  }
}

/** householdsState is what the e2e tests read. */
export function householdsState() {
  return { alertId: H.alertId, rows: H.rows, loaded: H.loaded, denied: H.denied };
}
