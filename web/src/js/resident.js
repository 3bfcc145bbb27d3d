// The resident and patrol page (GET /m): alerts that take the whole
// screen, answers, "snap and report", the village's bulletins and, for
// patrols, live position sharing. Made for a phone held by an old person:
// large text, large buttons, few words.

import { Api, esc, tokenFromURL, paramFromURL, toast } from './api.js';
import { HubSocket } from './socket.js';
import { t, applyI18n, toggleLang, onLangChange, ago, clock, meters } from './i18n.js';
import { alarm, chime, unlockOnGesture, unlocked } from './alarm.js';
import { shrinkPhoto, blobToDataURL, dataURLToBlob } from './photo.js';
import { loadLeaflet, basemapCRS, basemapLayers } from './leaflet-loader.js';
import { wgs2gcj, gcj2wgs } from './gcj02.js';
import { setupHouseholds, renderHouseholds } from './households.js';
import { setupMailbox, onLetterEvent } from './mailbox.js';
import { handlingChips, historyBlock, setupReportHistory, refreshHistory } from './report-handling.js';
import { textOf, exerciseChip, capDetails } from './alert-cap.js';
import { setupBoard, onBoardEvent } from './board.js';
import { setupCredit, onBoardEvent as onHouseholdBoard } from './credit.js';
import { setupPatrolRounds, renderPatrolRounds, patrolEvent } from './patrol.js';

const $ = (id) => document.getElementById(id);
const reportKinds = ['flood', 'fire', 'landslide', 'freeze', 'road', 'water', 'sanitation', 'dispute', 'other'];
const sevRank = { extreme: 4, severe: 3, moderate: 2, minor: 1 };
const maxStoredAlerts = 100;
const locateEvery = 15000;

// ---- state, kept per member in localStorage ----

const S = {
  token: null,
  member: null, // from the welcome (cached for offline start)
  lastSeq: 0, // newest seq seen; resume starts after it
  alerts: {}, // id -> {alert, seq, at, status, answer}
  readBulletins: new Set(),
  bulletins: [],
  reports: [], // my reports, newest first
  updatedReports: new Set(),
  outbox: [], // reports waiting for the network
  villages: new Map(),
};
let api;
let sock;
let overlayQueue = []; // alert ids to show, in order
let overlayShown = null; // alert id on screen
const shownCount = {}; // alert id -> times it took the screen (the e2e tests read it)
let resuming = false;
let welcomeSeq = 0;
let alertsAdded = 0; // alerts added since the page opened (refreshAlertsStatus)

function key(name) {
  return `hub.m.${S.member ? S.member.id : 'anon'}.${name}`;
}

function load() {
  if (!S.member) return;
  const j = (k, d) => {
    try {
      const v = localStorage.getItem(key(k));
      return v === null ? d : JSON.parse(v);
    } catch {
      return d;
    }
  };
  S.lastSeq = j('seq', null);
  S.alerts = j('alerts', {});
  S.readBulletins = new Set(j('read', []));
  S.outbox = j('outbox', []);
  S.updatedReports = new Set(j('updated', []));
}

function save(what = ['seq', 'alerts', 'read', 'outbox', 'updated']) {
  if (!S.member) return;
  const put = (k, v) => {
    try {
      localStorage.setItem(key(k), JSON.stringify(v));
    } catch {
      // storage full: the page still works, it just forgets sooner
    }
  };
  if (what.includes('seq')) put('seq', S.lastSeq);
  if (what.includes('alerts')) {
    const ids = Object.keys(S.alerts).sort((a, b) => S.alerts[b].seq - S.alerts[a].seq);
    for (const id of ids.slice(maxStoredAlerts)) delete S.alerts[id];
    put('alerts', S.alerts);
  }
  if (what.includes('read')) put('read', [...S.readBulletins].slice(-500));
  if (what.includes('outbox')) put('outbox', S.outbox);
  if (what.includes('updated')) put('updated', [...S.updatedReports]);
}

function seen(seq) {
  if (typeof seq === 'number' && seq > (S.lastSeq ?? 0)) {
    S.lastSeq = seq;
    save(['seq']);
  }
}

// ---- start ----

async function start() {
  applyI18n();
  $('lang').onclick = toggleLang;
  onLangChange(renderAll);
  setupTabs();
  setupLogin();

  // An invitation link (/m?invite=...): exchange it for a token once, and
  // keep the token as a ?token= link would be kept.
  const invite = paramFromURL('invite');
  if (invite !== null) {
    try {
      const r = await new Api('').post('/api/v1/invitations/accept', { invite });
      keepToken(r.token, r.member);
    } catch (e) {
      return showLogin(e.offline ? t('m.invite.offline') : t('m.invite.spent'));
    }
  }
  const fromURL = tokenFromURL();
  if (fromURL) keepToken(fromURL, null);
  S.token = fromURL || localStorage.getItem('hub.m.token');
  if (!S.token) return showLogin(t('m.nolink'));
  try {
    S.member = JSON.parse(localStorage.getItem('hub.m.member') || 'null');
  } catch {
    S.member = null;
  }
  load();
  api = new Api(S.token);

  unlockOnGesture(() => ($('sound-hint').hidden = true));
  setTimeout(() => ($('sound-hint').hidden = unlocked()), 1500);

  setupReportForm();
  setupPatrol();
  setupTravel();
  setupHouseholds({ api, member: () => S.member, alerts: householdAlerts });
  setupMailbox({ api, member: () => S.member, onNew: () => chime() });
  setupReportHistory(api, $('my-reports'), () => renderReports());
  setupBoard({ api, member: () => S.member });
  setupCredit({ api });
  setupPatrolRounds({ api, member: () => S.member });
  renderPatrolRounds();
  renderAll();
  refreshFromHTTP();

  sock = new HubSocket({
    token: S.token,
    onStatus: setConn,
    onWelcome,
    onEvent,
    since: () => (S.lastSeq === null || S.lastSeq === undefined ? welcomeSeq : S.lastSeq),
    onResumed: (seq) => {
      seen(seq);
      resuming = false;
      flushOverlays();
    },
    onFail: (n) => {
      if (n === 1 || n % 5 === 0) checkToken();
    },
  });
  sock.start();
  $('conn').onclick = () => sock.reconnectNow(); // after "opened elsewhere"
  addEventListener('online', () => flushOutbox());
  setInterval(() => flushOutbox(), 30000);
  setInterval(renderAll, 60000); // ages and expiry
}

function fatal(msg) {
  const f = $('fatal');
  f.textContent = msg;
  f.hidden = false;
  for (const s of document.querySelectorAll('.m-tab')) s.hidden = true;
  document.querySelector('.m-tabs').hidden = true;
}

/** keepToken stores a new token (and its member, when known) as the page keeps tokens. */
function keepToken(token, member) {
  if (token !== localStorage.getItem('hub.m.token')) localStorage.removeItem('hub.m.member');
  localStorage.setItem('hub.m.token', token);
  if (member) localStorage.setItem('hub.m.member', JSON.stringify(member));
}

/** showLogin says why the page cannot open and offers the sign-in by phone. */
function showLogin(msg) {
  fatal(msg);
  $('login').hidden = false;
}

/** setupLogin wires the sign-in by phone: number, then the SMS code, then a token. */
function setupLogin() {
  const pub = new Api('');
  const msg = (k) => ($('login-msg').textContent = k ? t(k) : '');
  const why = (e) => (e.status === 429 ? t('m.login.wait') : e.offline ? t('a.offline') : e.message);
  $('login-send').onclick = async () => {
    const phone = $('login-phone').value.trim();
    if (!phone) return $('login-phone').focus();
    $('login-send').disabled = true;
    try {
      await pub.post('/api/v1/login/code', { phone });
      msg('m.login.sent');
      $('login-code-row').hidden = false;
      $('login-code').focus();
    } catch (e) {
      $('login-msg').textContent = why(e);
    } finally {
      setTimeout(() => ($('login-send').disabled = false), 3000);
    }
  };
  $('login').onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const r = await pub.post('/api/v1/login/verify', { phone: $('login-phone').value.trim(), code: $('login-code').value.trim() });
      keepToken(r.token, r.member);
      location.replace('/m');
    } catch (e) {
      $('login-msg').textContent = e.status === 401 ? t('m.login.bad') : why(e);
    }
  };
}

async function checkToken() {
  try {
    await api.get('/api/v1/villages');
  } catch (e) {
    if (e.status === 401) {
      sock.stop();
      showLogin(t('m.invalid'));
    }
  }
}

function setConn(status) {
  const c = $('conn');
  c.className = 'conn conn-' + status;
  $('conn-text').dataset.i18n = 'status.' + status;
  $('conn-text').textContent = t('status.' + status);
  $('offline').hidden = status !== 'offline';
}

function onWelcome(member, seq) {
  const changed = !S.member || S.member.id !== member.id;
  S.member = member;
  localStorage.setItem('hub.m.member', JSON.stringify(member));
  if (changed) {
    // Keep what arrived before we knew who we are (a first visit): the
    // alerts already on screen must not come back as new.
    const early = { alerts: S.alerts, outbox: S.outbox, read: S.readBulletins };
    load();
    for (const [id, rec] of Object.entries(early.alerts)) if (!S.alerts[id]) S.alerts[id] = rec;
    for (const o of early.outbox) if (!S.outbox.some((x) => x.localId === o.localId)) S.outbox.push(o);
    for (const id of early.read) S.readBulletins.add(id);
    save(['alerts', 'outbox', 'read']);
  }
  welcomeSeq = seq;
  // A first open starts from now: the active alerts that cover the member
  // come right after the welcome; old history is not replayed.
  if (S.lastSeq === null || S.lastSeq === undefined) {
    S.lastSeq = seq;
    save(['seq']);
  }
  resuming = true;
  setTimeout(() => {
    // Never keep alerts hidden if the resume reply is lost.
    if (resuming) {
      resuming = false;
      flushOverlays();
    }
  }, 8000);
  $('patrol').hidden = member.role !== 'patrol';
  renderTravel();
  renderHouseholds();
  renderPatrolRounds();
  renderWho();
  if (changed) refreshFromHTTP();
  else refreshAlertsStatus();
  flushAcks();
  flushOutbox();
  if (sharing) sendLocate();
}

async function refreshFromHTTP() {
  try {
    const [vs, bs, rs] = await Promise.all([
      api.get('/api/v1/villages'),
      api.get('/api/v1/bulletins'),
      api.get('/api/v1/reports'),
    ]);
    S.villages = new Map(vs.villages.map((v) => [v.id, v]));
    S.bulletins = bs.bulletins;
    S.reports = rs.reports.sort((a, b) => b.created_at.localeCompare(a.created_at));
    renderAll();
    refreshAlertsStatus();
  } catch (e) {
    if (e.status === 401) showLogin(t('m.invalid'));
  }
}

/** refreshAlertsStatus marks stored alerts that are no longer active (cancelled or expired while we were away). */
async function refreshAlertsStatus() {
  // An alert the socket brings while this list is on its way is not in
  // the list: only alerts known before asking may be marked ended.
  const asked = alertsAdded;
  let active;
  try {
    active = (await api.get('/api/v1/alerts?status=active')).alerts;
  } catch {
    return;
  }
  const ids = new Set(active.map((a) => a.id));
  let changed = false;
  for (const a of active) {
    if (!S.alerts[a.id]) {
      addAlert(a, a.seq); // an alert addressed to us that the socket has not brought yet
      changed = true;
    }
  }
  for (const rec of Object.values(S.alerts)) {
    if (rec.status === 'active' && !ids.has(rec.alert.id) && !(rec.added > asked)) {
      rec.status = Date.parse(rec.alert.expires_at) <= Date.now() ? 'expired' : 'cancelled';
      changed = true;
      if (overlayShown === rec.alert.id) renderOverlay();
    }
  }
  if (changed) {
    save(['alerts']);
    renderAlerts();
  }
}

// ---- events ----

function onEvent(ev) {
  switch (ev.type) {
    case 'alert':
      addAlert(ev.alert, ev.seq);
      seen(ev.seq);
      break;
    case 'alert_update': // v1.6: an update in place
      onAlertUpdate(ev.alert_update);
      seen(ev.seq);
      break;
    case 'alert_cancel': {
      const rec = S.alerts[ev.alert_id];
      if (rec) {
        rec.status = 'cancelled';
        save(['alerts']);
        overlayQueue = overlayQueue.filter((id) => id !== ev.alert_id);
        if (overlayShown === ev.alert_id) renderOverlay();
        renderAlerts();
      }
      seen(ev.seq);
      break;
    }
    case 'bulletin': {
      const b = ev.bulletin;
      if (!S.bulletins.some((x) => x.id === b.id)) {
        S.bulletins.unshift(b);
        renderBulletins();
        if (currentTab !== 'bulletins') chime();
      }
      seen(ev.seq);
      break;
    }
    case 'board': // the village board (board.js, v1.6)
      onBoardEvent(ev);
      seen(ev.seq);
      break;
    case 'report':
    case 'report_update': {
      const r = ev.report || ev.report_update; // v1.6: report_update after every change
      const i = S.reports.findIndex((x) => x.id === r.id);
      if (i < 0) S.reports.unshift(r);
      else {
        const old = S.reports[i];
        if (old.updated_at && r.updated_at && Date.parse(r.updated_at) < Date.parse(old.updated_at)) {
          seen(ev.seq);
          break; // an older copy of a change already shown
        }
        refreshHistory(api, r.id, () => renderReports());
        if (old.status !== r.status || old.feedback !== r.feedback) {
          S.updatedReports.add(r.id);
          save(['updated']);
          toast(t('m.reports.updated') + '：' + t('rs.' + r.status), 'info');
          chime();
        }
        S.reports[i] = r;
      }
      renderReports();
      seen(ev.seq);
      break;
    }
    case 'letter': // the mailbox (v1.6)
      onLetterEvent(ev);
      seen(ev.seq);
      break;
    case 'household_board': // a household board of the village was published (v1.6)
      onHouseholdBoard(ev, resuming);
      seen(ev.seq);
      break;
    case 'round':
    case 'visit':
      // v1.6: a round or visit of the village (patrol.js reads its lists again).
      patrolEvent(ev);
      seen(ev.seq);
      break;
    default:
      break;
  }
}

/** addAlert stores an alert once (by id) and puts it on screen when it is new and active. */
/**
 * onAlertUpdate applies an alert_update (v1.6): the alert's new text,
 * severity and area, shown again full screen; "in_area": false means the
 * update took this member out of the area.
 */
function onAlertUpdate(u) {
  const rec = S.alerts[u.id];
  if (u.in_area === false) {
    if (rec && rec.status === 'active') {
      rec.status = 'left';
      overlayQueue = overlayQueue.filter((id) => id !== u.id);
      if (overlayShown === u.id) renderOverlay();
      save(['alerts']);
      renderAlerts();
    }
    return;
  }
  if (!rec) {
    addAlert(u, 0);
    return;
  }
  rec.alert = { ...rec.alert, ...u };
  rec.updated = true;
  save(['alerts']);
  renderAlerts();
  if (overlayShown === u.id) renderOverlay();
  else if (rec.status === 'active' && !overlayQueue.includes(u.id)) {
    overlayQueue.push(u.id);
    if (!resuming) flushOverlays();
  }
}

function addAlert(alert, seq) {
  if (S.alerts[alert.id]) return; // never show an alert twice
  const expired = Date.parse(alert.expires_at) <= Date.now();
  S.alerts[alert.id] = { alert, seq: seq || 0, at: new Date().toISOString(), status: expired ? 'expired' : 'active', answer: null,
    added: ++alertsAdded };
  save(['alerts']);
  renderAlerts();
  // An all-clear takes the screen too, with one button.
  if (!expired && overlayShown !== alert.id && !overlayQueue.includes(alert.id)) overlayQueue.push(alert.id);
  if (!resuming) flushOverlays();
}

// ---- overlay: a new alert takes the whole screen ----

function flushOverlays() {
  if (overlayShown) return;
  overlayQueue = overlayQueue.filter((id) => S.alerts[id] && S.alerts[id].status === 'active');
  if (!overlayQueue.length) return;
  overlayQueue.sort((a, b) => (sevRank[S.alerts[b].alert.severity] || 0) - (sevRank[S.alerts[a].alert.severity] || 0));
  overlayShown = overlayQueue.shift();
  shownCount[overlayShown] = (shownCount[overlayShown] || 0) + 1;
  const rec = S.alerts[overlayShown];
  renderOverlay();
  alarm(rec.alert.severity);
}

function closeOverlay() {
  overlayShown = null;
  const ov = $('overlay');
  ov.hidden = true;
  ov.innerHTML = '';
  document.body.classList.remove('has-overlay');
  flushOverlays();
}

function answerButtons(a, current, big) {
  const cls = big ? 'btn btn-huge' : 'btn btn-big';
  const sel = (r) => (current === r ? ' selected' : '');
  if (a.kind === 'mobilization') {
    return `<div class="answers">
      <button type="button" class="${cls} btn-coming${sel('coming')}" data-resp="coming">${esc(t('resp.coming'))}</button>
      <button type="button" class="${cls} btn-unavailable${sel('unavailable')}" data-resp="unavailable">${esc(t('resp.unavailable'))}</button>
    </div>`;
  }
  if (a.kind === 'all_clear') {
    return `<div class="answers"><button type="button" class="${cls} btn-received${sel('received')}" data-resp="received">${esc(t('resp.received'))}</button></div>`;
  }
  return `<div class="answers">
    <button type="button" class="${cls} btn-received${sel('received')}" data-resp="received">${esc(t('resp.received'))}</button>
    <button type="button" class="${cls} btn-safe${sel('safe')}" data-resp="safe">${esc(t('resp.safe'))}</button>
    <button type="button" class="${cls} btn-help${sel('need_help')}" data-resp="need_help">${esc(t('resp.need_help'))}</button>
  </div>`;
}

const etaChoices = [5, 10, 15, 20, 30, 60];

function renderOverlay(askEta = false) {
  const ov = $('overlay');
  const rec = overlayShown && S.alerts[overlayShown];
  if (!rec) return closeOverlay();
  const a = rec.alert;
  const ended = rec.status !== 'active';
  let actions;
  if (ended) {
    actions = `<div class="ov-ended">${esc(t(rec.status === 'cancelled' ? 'm.alert.cancelled' : rec.status === 'left' ? 'm.alert.left' : 'm.alert.expired'))}</div>
      <div class="answers"><button type="button" class="btn btn-huge" data-close>${esc(t('common.close'))}</button></div>`;
  } else if (askEta) {
    actions = `<div class="ov-q">${esc(t('m.alert.eta'))}</div><div class="eta-grid">${etaChoices
      .map((n) => `<button type="button" class="btn btn-huge" data-eta="${n}">${n} ${esc(t('common.minutes'))}</button>`)
      .join('')}</div>`;
  } else {
    actions = `<div class="ov-q">${esc(t('m.alert.answer'))}</div>${answerButtons(a, rec.answer && rec.answer.response, true)}
      <button type="button" class="btn-link" data-close>${esc(t('common.close'))}</button>`;
  }
  ov.className = `alert-overlay sev-${a.severity} kind-${a.kind}`;
  ov.dataset.alertId = a.id;
  const tx = textOf(a); // v1.6: the reader's language of a CAP alert
  ov.innerHTML = `<div class="ov-inner">
    <div class="ov-kind">${exerciseChip(a)} ${esc(t('m.alert.new'))} · ${esc(t('kind.' + a.kind))} · ${esc(t('sev.' + a.severity))}${rec.updated ? ' · ' + esc(t('alert.updated')) : ''}</div>
    <h1 id="ov-title">${esc(tx.title)}</h1>
    ${tx.body ? `<p class="ov-body">${esc(tx.body)}</p>` : ''}
    ${capDetails(a)}
    <div class="ov-time">${esc(clock(a.created_at))}</div>
    ${actions}
  </div>`;
  ov.hidden = false;
  document.body.classList.add('has-overlay');
  ov.onclick = (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.hasAttribute('data-close')) return closeOverlay();
    if (b.dataset.resp === 'coming') return renderOverlay(true);
    if (b.dataset.resp) {
      answer(a.id, b.dataset.resp);
      closeOverlay();
    }
    if (b.dataset.eta) {
      answer(a.id, 'coming', Number(b.dataset.eta));
      closeOverlay();
    }
  };
}

// ---- answers ----

function answer(alertID, response, eta) {
  const rec = S.alerts[alertID];
  if (!rec) return;
  rec.answer = { response, eta: eta ?? null, at: new Date().toISOString(), pending: true };
  save(['alerts']);
  renderAlerts();
  sendAck(rec);
}

function sendAck(rec) {
  const ans = rec.answer;
  const cmd = { type: 'ack', alert_id: rec.alert.id, response: ans.response };
  if (ans.eta !== null && ans.eta !== undefined) cmd.eta_min = ans.eta;
  sock
    .request(cmd)
    .then(() => {
      if (rec.answer === ans) {
        ans.pending = false;
        save(['alerts']);
        renderAlerts();
      }
    })
    .catch((e) => {
      if (e.offline) return; // sent again after the next welcome
      if (rec.answer === ans) {
        ans.pending = false;
        ans.error = e.message;
        save(['alerts']);
        renderAlerts();
      }
      toast(t('common.error', { msg: e.message }), 'error');
    });
}

function flushAcks() {
  for (const rec of Object.values(S.alerts)) if (rec.answer && rec.answer.pending) sendAck(rec);
}

// ---- rendering ----

let currentTab = 'alerts';

function setupTabs() {
  for (const b of document.querySelectorAll('.m-tabs button')) {
    b.onclick = () => showTab(b.dataset.tab);
  }
}

function showTab(name) {
  currentTab = name;
  for (const b of document.querySelectorAll('.m-tabs button')) b.classList.toggle('active', b.dataset.tab === name);
  for (const s of document.querySelectorAll('.m-tab')) s.hidden = s.dataset.tab !== name;
  if (name === 'report') {
    if (!position) locateForReport();
    if (S.updatedReports.size) {
      // The reporter has now seen the updates; keep the highlight until the next visit.
      setTimeout(() => {
        S.updatedReports.clear();
        save(['updated']);
        renderBadges();
      }, 4000);
    }
  }
  renderBadges();
}

function renderAll() {
  renderWho();
  renderAlerts();
  renderBulletins();
  renderReports();
  renderKinds();
  renderWhere();
  renderShareState();
  if (overlayShown) renderOverlay();
}

function renderWho() {
  if (!S.member) return;
  const v = S.villages.get(S.member.village_id);
  $('who').textContent = S.member.name + (v ? ' · ' + v.name : '');
  document.title = t('app.title');
}

function renderAlerts() {
  const list = Object.values(S.alerts).sort((a, b) => {
    const act = (r) => (r.status === 'active' ? 1 : 0);
    return act(b) - act(a) || b.seq - a.seq || b.alert.created_at.localeCompare(a.alert.created_at);
  });
  for (const rec of list) {
    if (rec.status === 'active' && Date.parse(rec.alert.expires_at) <= Date.now()) rec.status = 'expired';
  }
  const box = $('alerts-list');
  if (!list.length) {
    box.innerHTML = `<div class="empty">${esc(t('m.alerts.empty'))}</div>`;
    renderBadges();
    return;
  }
  let html = '';
  let pastHeader = false;
  for (const rec of list) {
    const a = rec.alert;
    if (rec.status !== 'active' && !pastHeader) {
      html += `<h2 class="m-h2">${esc(t('m.alerts.past'))}</h2>`;
      pastHeader = true;
    }
    const ans = rec.answer;
    let ansLine = '';
    if (ans) {
      const r = t('resp.' + ans.response) + (ans.eta ? ' · ' + t('alerts.eta', { n: ans.eta }) : '');
      ansLine = `<div class="answered answered-${esc(ans.response)}">${esc(t('m.alert.answered', { r }))}${ans.pending ? ` <span class="muted">(${esc(t('m.alert.queued'))})</span>` : ''}</div>`;
    }
    const statusKey = rec.status === 'active' ? 'm.alert.active' : rec.status === 'cancelled' ? 'm.alert.cancelled' : rec.status === 'left' ? 'm.alert.left' : 'm.alert.expired';
    const tx = textOf(a);
    const where = alertWhere(a);
    html += `<article class="card alert-card sev-${esc(a.severity)} status-${esc(rec.status)}" data-alert-id="${esc(a.id)}">
      <div class="alert-meta">${exerciseChip(a)}<span class="chip chip-${esc(a.severity)}">${esc(t('kind.' + a.kind))} · ${esc(t('sev.' + a.severity))}</span>
        <span class="chip">${esc(t(statusKey))}</span>${rec.updated ? `<span class="chip">${esc(t('alert.updated'))}</span>` : ''}<span class="muted">${esc(clock(a.created_at))}</span></div>
      <h3>${esc(tx.title)}</h3>
      ${tx.body ? `<p>${esc(tx.body)}</p>` : ''}
      ${capDetails(a)}
      ${where ? `<div class="place">${esc(where)}</div>` : ''}
      ${ansLine}
      ${rec.status === 'active' ? answerButtons(a, ans && ans.response, false) : ''}
    </article>`;
  }
  box.innerHTML = html;
  box.onclick = (e) => {
    const b = e.target.closest('button[data-resp]');
    if (!b) return;
    const id = b.closest('[data-alert-id]').dataset.alertId;
    if (b.dataset.resp === 'coming') {
      overlayShown = id;
      renderOverlay(true);
      return;
    }
    answer(id, b.dataset.resp);
  };
  renderBadges();
  renderHouseholds();
}

/** householdAlerts are the active alerts (not all-clears) whose households a patrol or cadre sees (households.js). */
function householdAlerts() {
  return Object.values(S.alerts)
    .filter((r) => r.status === 'active' && r.alert.kind !== 'all_clear' && Date.parse(r.alert.expires_at) > Date.now())
    .sort((a, b) => b.seq - a.seq)
    .map((r) => r.alert);
}

function renderBulletins() {
  const box = $('bulletins-list');
  const list = [...S.bulletins].sort((a, b) => b.published_at.localeCompare(a.published_at));
  if (!list.length) {
    box.innerHTML = `<div class="empty">${esc(t('m.bulletins.empty'))}</div>`;
    renderBadges();
    return;
  }
  box.innerHTML = list
    .map((b) => {
      const unread = !S.readBulletins.has(b.id);
      const where = b.village_id ? S.villages.get(b.village_id)?.name || '' : t('common.county');
      return `<article class="card bulletin${unread ? ' unread' : ''}" data-bulletin-id="${esc(b.id)}" tabindex="0">
        <div class="alert-meta">${unread ? `<span class="chip chip-unread">${esc(t('m.bulletins.unread'))}</span>` : ''}
          <span class="chip">${esc(t('bc.' + b.category))}</span><span class="muted">${esc(where)} · ${esc(clock(b.published_at))}</span></div>
        <h3>${esc(b.title)}</h3>
        <p class="bulletin-body">${esc(b.body)}</p>
      </article>`;
    })
    .join('');
  box.onclick = (e) => {
    const card = e.target.closest('[data-bulletin-id]');
    if (!card) return;
    S.readBulletins.add(card.dataset.bulletinId);
    save(['read']);
    card.classList.remove('unread');
    card.querySelector('.chip-unread')?.remove();
    renderBadges();
  };
  renderBadges();
}

function renderReports() {
  const box = $('my-reports');
  const pending = S.outbox.map(
    (o) => `<article class="card report-card pending">
      <div class="alert-meta"><span class="chip">${esc(t('rk.' + o.kind))}</span><span class="chip chip-pending">${esc(t('m.reports.pending'))}</span>
      <span class="muted">${esc(ago(o.createdAt))}</span></div>
      ${o.text ? `<p>${esc(o.text)}</p>` : ''}
    </article>`,
  );
  const done = S.reports.map((r) => {
    const upd = S.updatedReports.has(r.id);
    return `<article class="card report-card status-${esc(r.status)}${upd ? ' updated' : ''}" data-report-id="${esc(r.id)}">
      <div class="alert-meta"><span class="chip">${esc(t('rk.' + r.kind))}</span>
        <span class="chip chip-status chip-${esc(r.status)}">${esc(t('rs.' + r.status))}</span>
        ${handlingChips(r)}
        ${upd ? `<span class="chip chip-unread">${esc(t('m.reports.updated'))}</span>` : ''}
        ${r.visibility === 'public' ? `<span class="chip chip-public">${esc(t('m.reports.public'))}</span>` : ''}
        <span class="muted">${esc(ago(r.created_at))}</span></div>
      ${r.text ? `<p>${esc(r.text)}</p>` : ''}
      ${reportPlace(r) ? `<div class="place">${esc(reportPlace(r))}</div>` : ''}
      ${r.photos && r.photos.length ? `<img class="thumb" alt="${esc(t('reports.photo'))}" src="${esc(api.mediaURL(r.photos[0]))}">` : ''}
      ${r.feedback ? `<div class="feedback"><strong>${esc(t('m.reports.feedback'))}：</strong><span class="feedback-text">${esc(r.feedback)}</span></div>` : ''}
      ${historyBlock(r, S.member && S.member.id)}
    </article>`;
  });
  const all = pending.concat(done);
  box.innerHTML = all.length ? all.join('') : `<div class="empty">${esc(t('m.reports.empty'))}</div>`;
  renderBadges();
}

function renderBadges() {
  const set = (id, n) => {
    const b = $(id);
    b.hidden = !n;
    b.textContent = n > 99 ? '99+' : String(n);
  };
  set('badge-alerts', Object.values(S.alerts).filter((r) => r.status === 'active' && !r.answer).length);
  set('badge-bulletins', S.bulletins.filter((b) => !S.readBulletins.has(b.id)).length);
  set('badge-report', S.updatedReports.size + S.outbox.length);
}

// ---- places ----

/** myPosition is where this phone is, when the page knows it (a fix for a report or live sharing); never the home. */
function myPosition() {
  if (lastFix) return lastFix;
  if (position && !position.picked) return position;
  return null;
}

/** distanceM is the great-circle distance in metres (docs/API.md's sphere). */
function distanceM(a, b) {
  const r = Math.PI / 180;
  const dLat = (b.lat - a.lat) * r;
  const dLng = (b.lng - a.lng) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** alertWhere says where an alert is: its villages, or how far its meeting point or centre is from me. */
function alertWhere(a) {
  const area = a.area || {};
  if (area.villages) return area.villages.map((id) => S.villages.get(id)?.name).filter(Boolean).join('、');
  const me = myPosition();
  if (!me) return '';
  if (area.reach) return t('m.alert.meet', { d: meters(distanceM(me, area.reach)) });
  if (area.circle) return t('m.alert.center', { d: meters(distanceM(me, area.circle)) });
  return '';
}

/** reportPlace is "村名 · 最近地名 · 离你 1.2 km" for a report (docs/API.md v1.3 place). */
function reportPlace(r) {
  const p = r.place || {};
  const v = S.villages.get(r.village_id);
  const parts = [p.village || (v ? v.name : ''), p.name];
  const me = myPosition();
  if (me) parts.push(t('place.from.you', { d: meters(distanceM(me, r)) }));
  return parts.filter(Boolean).join(' · ');
}

// ---- travel mode (patrols and cadres) ----

function setupTravel() {
  $('travel-mode').onchange = async (e) => {
    const sel = e.target;
    const mode = sel.value;
    if (!S.member) return;
    sel.disabled = true;
    try {
      const { member } = await api.patch('/api/v1/members/' + encodeURIComponent(S.member.id), { travel_mode: mode });
      S.member = { ...S.member, ...member };
      localStorage.setItem('hub.m.member', JSON.stringify(S.member));
      toast(t('common.saved'), 'ok');
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
    } finally {
      sel.disabled = false;
      renderTravel();
    }
  };
}

function renderTravel() {
  const m = S.member;
  const on = !!m && (m.role === 'patrol' || m.role === 'cadre');
  $('travel').hidden = !on;
  if (on && document.activeElement !== $('travel-mode')) $('travel-mode').value = m.travel_mode || '';
}

// ---- snap and report ----

let chosenKind = null;
let photoBlob = null;
let photoURL = null;
let position = null; // {lat, lng, accuracy, picked}
let locating = false;

function renderKinds() {
  const box = $('kinds');
  box.innerHTML = reportKinds
    .map(
      (k) =>
        `<button type="button" role="radio" aria-checked="${chosenKind === k}" class="kind kind-${k}${chosenKind === k ? ' selected' : ''}" data-kind="${k}">${esc(t('rk.' + k))}</button>`,
    )
    .join('');
}

function renderWhere() {
  const w = $('where');
  if (locating) w.textContent = t('m.report.locating');
  else if (!position) w.textContent = t('m.report.nolocation');
  else
    w.textContent =
      (position.picked ? t('m.report.picked') : t('m.report.located', { a: Math.round(position.accuracy || 0) })) +
      ` (${position.lat.toFixed(5)}, ${position.lng.toFixed(5)})`;
  w.classList.toggle('ok', !!position);
}

function locateForReport() {
  if (!navigator.geolocation) {
    renderWhere();
    return;
  }
  locating = true;
  renderWhere();
  navigator.geolocation.getCurrentPosition(
    (p) => {
      locating = false;
      position = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy: p.coords.accuracy, picked: false };
      renderWhere();
    },
    () => {
      locating = false;
      renderWhere();
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

let pickMap = null;
let pickMarker = null;
let pickCRS = 'wgs84'; // of the pick map's basemap

async function openPickMap() {
  $('pick-map-wrap').hidden = false;
  let L;
  try {
    L = await loadLeaflet();
  } catch (e) {
    toast(t('common.error', { msg: e.message }), 'error');
    return;
  }
  const home = S.member && S.member.home;
  const village = S.member && S.villages.get(S.member.village_id);
  const c = position || home || (village && village.center) || { lat: 29.03, lng: 119.17 };
  if (!pickMap) {
    // The server's basemap (any role may read it); on GCJ-02 tiles the
    // markers are shifted and the picked point shifted back.
    let info = null;
    try {
      info = await api.get('/api/v1/map');
    } catch {
      // none: a plain background
    }
    pickCRS = basemapCRS(info);
    const ll = (p) => (pickCRS === 'gcj02' ? wgs2gcj(p.lat, p.lng) : [p.lat, p.lng]);
    pickMap = L.map('pick-map', { zoomControl: true, attributionControl: false, maxZoom: 19 }).setView(ll(c), 15);
    for (const l of basemapLayers(L, info, S.token)) l.addTo(pickMap);
    for (const v of S.villages.values()) {
      L.circleMarker(ll(v.center), { radius: 5, color: '#555', weight: 1, fillOpacity: 0.6 })
        .bindTooltip(esc(v.name), { permanent: v.id === S.member?.village_id, direction: 'top' })
        .addTo(pickMap);
    }
    if (home) L.circleMarker(ll(home), { radius: 6, color: '#1565c0', fillOpacity: 0.8 }).addTo(pickMap);
    pickMarker = L.marker(ll(c), { draggable: true }).addTo(pickMap);
    pickMap.on('click', (e) => pickMarker.setLatLng(e.latlng));
  } else {
    pickMap.invalidateSize();
  }
}

function setupReportForm() {
  $('kinds').onclick = (e) => {
    const b = e.target.closest('[data-kind]');
    if (!b) return;
    chosenKind = b.dataset.kind;
    renderKinds();
  };
  $('photo').onchange = async (e) => {
    const f = e.target.files && e.target.files[0];
    if (!f) return;
    setProgress(0, t('m.report.shrinking'));
    try {
      photoBlob = await shrinkPhoto(f);
    } catch (err) {
      photoBlob = null;
      toast(t('common.error', { msg: err.message }), 'error');
    }
    setProgress(null);
    if (photoURL) URL.revokeObjectURL(photoURL);
    photoURL = photoBlob ? URL.createObjectURL(photoBlob) : null;
    $('photo-img').src = photoURL || '';
    $('photo-preview').hidden = !photoBlob;
  };
  $('photo-remove').onclick = () => {
    photoBlob = null;
    $('photo').value = '';
    $('photo-preview').hidden = true;
  };
  $('locate').onclick = locateForReport;
  $('pick').onclick = openPickMap;
  $('pick-done').onclick = () => {
    if (pickMarker) {
      const p = pickMarker.getLatLng();
      const [lat, lng] = pickCRS === 'gcj02' ? gcj2wgs(p.lat, p.lng) : [p.lat, p.lng];
      position = { lat, lng, accuracy: 0, picked: true };
      renderWhere();
    }
    $('pick-map-wrap').hidden = true;
  };
  $('report-form').onsubmit = async (e) => {
    e.preventDefault();
    if (!chosenKind) return toast(t('m.report.need.kind'), 'error');
    if (!position) return toast(t('m.report.need.where'), 'error');
    const item = {
      localId: 'l' + Date.now() + Math.random().toString(36).slice(2, 6),
      kind: chosenKind,
      text: $('report-text').value.trim(),
      lat: position.lat,
      lng: position.lng,
      createdAt: new Date().toISOString(),
      photo: photoBlob ? await blobToDataURL(photoBlob) : null,
      mediaId: null,
      visibility: $('vis-public').checked ? 'public' : 'private',
    };
    S.outbox.push(item);
    save(['outbox']);
    // The form is cleared at once: the report is safe in the outbox.
    chosenKind = null;
    photoBlob = null;
    $('photo').value = '';
    $('photo-preview').hidden = true;
    $('report-text').value = '';
    $('vis-public').checked = false;
    document.querySelector('input[name="visibility"][value="private"]').checked = true;
    renderKinds();
    renderReports();
    flushOutbox(true);
  };
}

function setProgress(frac, text) {
  const p = $('report-progress');
  if (frac === null) {
    p.hidden = true;
    return;
  }
  p.hidden = false;
  p.querySelector('.progress-bar').style.width = Math.round(frac * 100) + '%';
  p.querySelector('.progress-text').textContent = text;
}

let flushing = false;

/** flushOutbox sends the waiting reports in order: photo first, then the report; network failures keep them for later. */
async function flushOutbox(interactive = false) {
  if (flushing || !S.outbox.length || !api) return;
  flushing = true;
  $('report-send').disabled = true;
  try {
    while (S.outbox.length) {
      const item = S.outbox[0];
      try {
        if (item.photo && !item.mediaId) {
          setProgress(0, t('m.report.uploading', { p: 0 }));
          const media = await api.upload(dataURLToBlob(item.photo), (f) =>
            setProgress(f * 0.9, t('m.report.uploading', { p: Math.round(f * 100) })),
          );
          item.mediaId = media.id;
          save(['outbox']);
        }
        setProgress(0.95, t('m.report.sending'));
        // client_id makes a retry after a lost answer return the stored report instead of a second one.
        const body = { kind: item.kind, text: item.text, lat: item.lat, lng: item.lng, photos: item.mediaId ? [item.mediaId] : [], client_id: item.localId,
          visibility: item.visibility || 'private' };
        const { report } = await api.post('/api/v1/reports', body);
        S.outbox.shift();
        save(['outbox']);
        if (!S.reports.some((r) => r.id === report.id)) S.reports.unshift(report);
        setProgress(1, t('m.report.sent'));
        toast(t('m.report.sent'), 'ok');
        renderReports();
      } catch (e) {
        if (e.offline || e.status === 429 || e.status >= 500) {
          setProgress(0, t('m.report.pending'));
          if (interactive) toast(t('m.report.pending'), 'warn');
          break;
        }
        // The hub refused it (bad photo, bad field): it will never pass.
        S.outbox.shift();
        save(['outbox']);
        setProgress(null);
        toast(t('m.report.failed', { msg: e.message }), 'error', 8000);
        renderReports();
      }
    }
  } finally {
    flushing = false;
    $('report-send').disabled = false;
    if (!S.outbox.length) setTimeout(() => setProgress(null), 2500);
    renderReports();
  }
}

// ---- patrols: live position ----

let sharing = false;
let watchID = null;
let lastFix = null;
let locateTimer = null;

function setupPatrol() {
  $('share').onchange = (e) => setSharing(e.target.checked);
  if (localStorage.getItem('hub.m.share') === '1') {
    $('share').checked = true;
    setSharing(true);
  }
}

function setSharing(on) {
  sharing = on;
  localStorage.setItem('hub.m.share', on ? '1' : '0');
  clearInterval(locateTimer);
  if (watchID !== null) navigator.geolocation.clearWatch(watchID);
  watchID = null;
  if (on && navigator.geolocation) {
    watchID = navigator.geolocation.watchPosition(
      (p) => {
        const first = !lastFix;
        lastFix = { lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.min(100000, p.coords.accuracy || 0) };
        shareError = false;
        renderShareState();
        if (first) sendLocate();
      },
      () => {
        shareError = true;
        renderShareState();
      },
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 },
    );
    locateTimer = setInterval(sendLocate, locateEvery);
  } else {
    lastFix = null;
  }
  renderShareState();
}

let shareError = false;

function renderShareState() {
  const s = $('share-state');
  if (!s) return;
  s.textContent = !sharing ? t('m.patrol.off') : shareError ? t('m.patrol.denied') : t('m.patrol.on');
  s.classList.toggle('on', sharing && !shareError);
}

function sendLocate() {
  if (!sharing || !lastFix || !sock || !sock.connected) return;
  sock.request({ type: 'locate', lat: lastFix.lat, lng: lastFix.lng, accuracy_m: lastFix.accuracy_m }).catch(() => {});
}

// Test hook: the e2e tests read the page state through it.
window.hubResident = { state: S, shownCount, get overlay() { return overlayShown; } };

start();
