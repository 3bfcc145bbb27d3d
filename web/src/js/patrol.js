// Patrol rounds and visits on the member page, for patrols and cadres
// (docs/API.md v1.6 "patrol rounds, visits and tallies", issue 16 part 4):
// start a round (fire, flood, landslide, sanitation), see it running, end
// it with a summary; while it is open the live position the page shares is
// the round's track (the hub records it). Below, 待走访: the watched
// households of the village due or overdue for a visit, most overdue
// first, each with a form to record a visit (note and one photo).
//
// resident.js calls setupPatrolRounds once and renderPatrolRounds when the
// member is known; this file owns #rounds and #visits in m.html.

import { esc, toast } from './api.js';
import { t, clock, onLangChange, meters } from './i18n.js';
import { shrinkPhoto } from './photo.js';

const refreshEvery = 60000;
let kinds = ['fire', 'flood', 'landslide', 'sanitation']; // the policy's, from /api/v1/rounds/open
let ctx = null; // {api, member: () => member}
const P = {
  round: undefined, // the open round, null when none, undefined before the first read
  due: [],
  dueLoaded: false,
  open: null, // household id whose visit form is open
  busy: false,
  photo: null, // the shrunk photo Blob of the open form
};

/** setupPatrolRounds wires the round card and the due-visit list. */
export function setupPatrolRounds(c) {
  ctx = c;
  setInterval(() => {
    if (!document.hidden && staff()) refresh();
  }, refreshEvery);
  onLangChange(() => render());
  document.getElementById('rounds').addEventListener('click', onRoundClick);
  const visits = document.getElementById('visits');
  visits.addEventListener('click', onVisitClick);
  visits.addEventListener('change', onPhoto);
}

function staff() {
  const m = ctx && ctx.member();
  return !!m && (m.role === 'patrol' || m.role === 'cadre');
}

/** renderPatrolRounds shows the cards for patrols and cadres (and reads them the first time). */
export function renderPatrolRounds() {
  if (!ctx) return;
  if (staff() && P.round === undefined && !P.loading) {
    P.loading = true;
    refresh().finally(() => (P.loading = false));
  }
  render();
}

/** patrolEvent takes a round or visit event of the village: a colleague's visit takes a household off the list; my round on another phone shows here. */
export function patrolEvent(ev) {
  if (!staff()) return;
  // Read the lists again rather than trust the order of replayed events.
  const mine = ev.type === 'round' && ev.round.member_id === ctx.member().id;
  if ((mine || ev.type === 'visit') && !P.busy) refresh();
}

async function refresh() {
  try {
    const [open, due] = await Promise.all([ctx.api.get('/api/v1/rounds/open'), ctx.api.get('/api/v1/visits/due')]);
    P.round = open.round;
    if (open.kinds && open.kinds.length) kinds = open.kinds;
    P.due = due.due;
    P.dueLoaded = true;
  } catch {
    // offline or not allowed: keep what is shown
  }
  render();
}

function render() {
  const rb = document.getElementById('rounds');
  const vb = document.getElementById('visits');
  if (!rb || !vb) return;
  if (!staff()) {
    rb.hidden = vb.hidden = true;
    return;
  }
  rb.hidden = vb.hidden = false;
  renderRound(rb);
  renderVisits(vb);
}

function renderRound(box) {
  let html = `<h2 class="pv-title">${esc(t('rd.title'))}</h2>`;
  const r = P.round;
  if (r === undefined) {
    box.innerHTML = html + `<div class="muted">${esc(t('common.loading'))}</div>`;
    return;
  }
  if (!r) {
    html += `<label class="field"><span>${esc(t('rd.kind'))}</span><select id="rd-kind">${kinds
      .map((k) => `<option value="${esc(k)}">${esc(kindName(k))}</option>`)
      .join('')}</select></label>
      <button type="button" id="rd-start" class="btn btn-big btn-primary"${P.busy ? ' disabled' : ''}>${esc(t('rd.start'))}</button>
      <div class="muted">${esc(t('rd.help'))}</div>`;
  } else {
    const mins = Math.max(0, Math.round((Date.now() - Date.parse(r.started_at)) / 60000));
    html += `<div class="pv-running" id="rd-running"><strong>${esc(t('rd.running', { kind: kindName(r.kind) }))}</strong>
      <span class="muted">${esc(t('rd.stats', { min: mins, n: r.points, d: r.distance_m ? meters(r.distance_m) : '0 m' }))}</span></div>
      <label class="field"><span>${esc(t('rd.summary'))}</span>
        <textarea id="rd-summary" rows="2" maxlength="2000" placeholder="${esc(t('rd.summary.ph'))}"></textarea></label>
      <button type="button" id="rd-end" class="btn btn-big"${P.busy ? ' disabled' : ''}>${esc(t('rd.end'))}</button>`;
  }
  const keep = box.querySelector('#rd-summary')?.value;
  box.innerHTML = html;
  if (keep && box.querySelector('#rd-summary')) box.querySelector('#rd-summary').value = keep;
}

// kindName is a round kind's name; a kind the page does not know shows as it is.
function kindName(k) {
  const s = t('rd.kind.' + k);
  return s === 'rd.kind.' + k ? k : s;
}

const watchRank = { control: 0, service: 1, backbone: 2 };

function renderVisits(box) {
  let html = `<h2 class="pv-title">${esc(t('pv.title'))}</h2>`;
  if (!P.dueLoaded) {
    box.innerHTML = html + `<div class="muted">${esc(t('common.loading'))}</div>`;
    return;
  }
  if (!P.due.length) {
    box.innerHTML = html + `<div class="empty" id="pv-empty">${esc(t('pv.empty'))}</div>`;
    return;
  }
  const keepNote = box.querySelector('#pv-note')?.value;
  html += '<ul class="pv-list">';
  for (const d of P.due) {
    const h = d.household;
    const state = d.overdue
      ? `<span class="pv-overdue">${esc(t('pv.overdue', { n: Math.max(1, Math.ceil(d.overdue_s / 86400)) }))}</span>`
      : `<span class="muted">${esc(t('pv.due', { at: clock(d.due_at) }))}</span>`;
    const last = d.last_visit ? t('pv.last', { at: clock(d.last_visit.at) }) : t('pv.never');
    html += `<li class="pv-row${d.overdue ? ' pv-row-overdue' : ''}" data-household-id="${esc(h.id)}" data-rank="${watchRank[h.watch] ?? 3}">
      <div class="pv-who"><strong>${esc(h.name)}</strong> <span class="pv-watch pv-watch-${esc(h.watch)}">${esc(t('pv.watch.' + h.watch))}</span></div>
      <div class="pv-state">${state} · <span class="muted">${esc(last)}</span></div>`;
    if (P.open === h.id) {
      html += `<div class="pv-form">
        <label class="field"><span>${esc(t('pv.note'))}</span><textarea id="pv-note" rows="3" maxlength="2000" placeholder="${esc(t('pv.note.ph'))}"></textarea></label>
        <label class="btn" for="pv-photo">${esc(P.photo ? t('pv.photo.again') : t('pv.photo'))}</label>
        <input id="pv-photo" type="file" accept="image/*" capture="environment" class="visually-hidden">
        ${P.photo ? `<span class="muted" id="pv-photo-ok">${esc(t('pv.photo.ok'))}</span>` : ''}
        <div class="row"><button type="button" class="btn btn-primary" data-pv="save"${P.busy ? ' disabled' : ''}>${esc(t('pv.save'))}</button>
        <button type="button" class="btn" data-pv="cancel">${esc(t('pv.cancel'))}</button></div>
      </div>`;
    } else {
      html += `<button type="button" class="btn" data-pv="open">${esc(t('pv.record'))}</button>`;
    }
    html += '</li>';
  }
  box.innerHTML = html + '</ul>';
  if (keepNote && box.querySelector('#pv-note')) box.querySelector('#pv-note').value = keepNote;
}

async function onRoundClick(e) {
  const b = e.target.closest('button');
  if (!b || P.busy) return;
  P.busy = true;
  try {
    if (b.id === 'rd-start') {
      const kind = document.getElementById('rd-kind').value;
      P.round = (await ctx.api.post('/api/v1/rounds', { kind })).round;
      shareOn();
      toast(t('rd.started'), 'ok');
    } else if (b.id === 'rd-end') {
      const summary = document.getElementById('rd-summary').value.trim();
      const r = (await ctx.api.post('/api/v1/rounds/' + encodeURIComponent(P.round.id) + '/end', { summary })).round;
      P.round = null;
      toast(t('rd.ended', { n: r.reports, d: meters(r.distance_m) || '0 m' }), 'ok');
    }
  } catch (err) {
    toast(err.offline ? t('hh.offline') : t('common.error', { msg: err.message }), 'error');
    if (err.status === 409) refresh();
  } finally {
    P.busy = false;
    render();
  }
}

// shareOn turns on the live position a patrol shares (resident.js's
// switch), so that the round has a track.
function shareOn() {
  const sw = document.getElementById('share');
  if (sw && !sw.checked && !sw.closest('[hidden]')) {
    sw.checked = true;
    sw.dispatchEvent(new Event('change'));
  }
}

async function onPhoto(e) {
  if (e.target.id !== 'pv-photo' || !e.target.files.length) return;
  try {
    P.photo = await shrinkPhoto(e.target.files[0]);
  } catch {
    P.photo = null;
    toast(t('pv.photo.bad'), 'error');
  }
  render();
}

async function onVisitClick(e) {
  const b = e.target.closest('button[data-pv]');
  if (!b) return;
  const id = b.closest('[data-household-id]').dataset.householdId;
  if (b.dataset.pv === 'open') {
    P.open = id;
    P.photo = null;
    render();
    return;
  }
  if (b.dataset.pv === 'cancel') {
    P.open = null;
    P.photo = null;
    render();
    return;
  }
  if (P.busy) return;
  P.busy = true;
  render();
  try {
    const note = (document.getElementById('pv-note')?.value || '').trim();
    const photos = [];
    if (P.photo) photos.push((await ctx.api.upload(P.photo)).id);
    await ctx.api.post('/api/v1/visits', { household_id: id, note, photos });
    const h = P.due.find((d) => d.household.id === id);
    toast(t('pv.saved', { name: h ? h.household.name : '' }), 'ok');
    P.open = null;
    P.photo = null;
    const form = document.getElementById('pv-note');
    if (form) form.value = '';
  } catch (err) {
    toast(err.offline ? t('hh.offline') : t('common.error', { msg: err.message }), 'error');
  } finally {
    P.busy = false;
  }
  await refresh();
}
