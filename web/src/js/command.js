// The command center (GET /): sign in with a commander or cadre token,
// then a county map with density, villages, alert areas, reports and
// patrols, and a side panel to compose alerts, follow their progress,
// handle reports, publish bulletins and change settings; and (issue 12)
// the members: import the roster, edit, deactivate and invite them.

import { Api, tokenFromURL, toast } from './api.js';
import { HubSocket } from './socket.js';
import { t, applyI18n, toggleLang, onLangChange } from './i18n.js';
import { CommandMap } from './cmd-map.js';
import { basemapCRS } from './leaflet-loader.js';
import { Compose } from './cmd-compose.js';
import { Alerts } from './cmd-alerts.js';
import { Reports } from './cmd-reports.js';
import { setupDeeds } from './cmd-board.js';
import { Bulletins } from './cmd-bulletins.js';
import { Members } from './cmd-members.js';
import { Import } from './cmd-import.js';
import { Audit } from './cmd-audit.js';
import { Letters } from './cmd-letters.js';
import { CAPPending } from './cmd-capfeed.js';
import { Credit } from './cmd-credit.js';
import { Tallies } from './cmd-tallies.js';

const $ = (id) => document.getElementById(id);
const tokenKey = 'hub.cmd.token';
const densityEvery = 60000;
const patrolsEvery = 15000;

applyI18n();
$('lang').onclick = toggleLang;

async function main() {
  const fromURL = tokenFromURL();
  const token = fromURL || sessionStorage.getItem(tokenKey);
  if (token) {
    const res = await check(token);
    if (res.ok) return run(token, res.density);
    showSignin(res.error);
    return;
  }
  showSignin('');
}

/**
 * check validates a token by asking for the density map, which only
 * commanders, admins and cadres may read: 401 is a bad token, 403 a member
 * who may not use this page.
 */
async function check(token) {
  try {
    const density = await new Api(token).get('/api/v1/density?res=7');
    return { ok: true, density };
  } catch (e) {
    if (e.status === 401) return { ok: false, error: t('signin.invalid') };
    if (e.status === 403) return { ok: false, error: t('signin.forbidden') };
    return { ok: false, error: t('common.error', { msg: e.message }) };
  }
}

function showSignin(error) {
  $('signin').hidden = false;
  $('app').hidden = true;
  $('signin-error').hidden = !error;
  $('signin-error').textContent = error || '';
  $('signin-token').focus();
  $('signin-form').onsubmit = async (e) => {
    e.preventDefault();
    const tok = $('signin-token').value.trim();
    if (!tok) return;
    const res = await check(tok);
    if (!res.ok) {
      $('signin-error').hidden = false;
      $('signin-error').textContent = res.error;
      return;
    }
    $('signin-token').value = '';
    run(tok, res.density);
  };
}

async function run(token, density) {
  sessionStorage.setItem(tokenKey, token);
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  $('signout').onclick = () => {
    sessionStorage.removeItem(tokenKey);
    location.replace('/');
  };

  const api = new Api(token);
  const cmap = new CommandMap('map');
  const villages = new Map();
  const ctx = { api, cmap, villages, member: null };
  window.commandMap = cmap.map; // for the e2e tests, which click on the map

  // The server's basemap first: its CRS says where everything is drawn.
  let basemap = null;
  try {
    basemap = await api.get('/api/v1/map');
  } catch {
    // an older hub, or none for now: no basemap, WGS-84
  }
  cmap.setBasemap(basemap, token, api);
  cmap.setDensity(densityCells(density));
  try {
    const vs = (await api.get('/api/v1/villages')).villages;
    for (const v of vs) villages.set(v.id, v);
    cmap.setVillages(vs);
    cmap.fitVillages(vs);
  } catch (e) {
    toast(t('common.error', { msg: e.message }), 'error');
  }

  const badge = (id) => (n) => {
    const b = $(id);
    b.hidden = !n;
    b.textContent = String(n);
  };
  const alerts = new Alerts({ ...ctx, onBadge: badge('badge-alerts') });
  const reports = new Reports({ ...ctx, onBadge: badge('badge-reports') });
  setupDeeds(ctx); // good deeds to confirm (v1.6)
  const bulletins = new Bulletins(ctx);
  const members = new Members(ctx);
  const audit = new Audit(ctx); // v1.6: the audit trail tab
  auditRef = audit;
  const credit = new Credit(ctx);
  const tallies = new Tallies(ctx);
  talliesRef = tallies;
  /** reloadVillages reads the villages again (after a village import) for the map and every village list. */
  const reloadVillages = async () => {
    try {
      const vs = (await api.get('/api/v1/villages')).villages;
      villages.clear();
      for (const v of vs) villages.set(v.id, v);
      cmap.setVillages(vs);
    } catch {
      return;
    }
    compose.renderVillageList();
    bulletins.renderForm();
    members.villagesChanged();
  };
  const roster = new Import({
    ...ctx,
    onImported: (kind) => {
      if (kind === 'villages') reloadVillages();
      else members.load();
      api.get('/api/v1/density?res=7').then((d) => cmap.setDensity(densityCells(d)), () => {});
    },
  });
  const compose = new Compose({
    ...ctx,
    onSent: (alert) => {
      alerts.onSent(alert);
      showTab('alerts');
    },
  });
  const letters = new Letters({ api }); // the villager mailbox (v1.6)
  alerts.ctx.drawnArea = () => compose.area(); // v1.6: an edit may take the area drawn now
  const capPending = new CAPPending(ctx, (alert) => alerts.onSent(alert)); // v1.6: the CAP feeds' pending messages
  setupTabs(reports, members);
  setupMemberSub();
  setupSettings(cmap);
  const renderWho = () => {
    if (ctx.member) $('who').textContent = `${ctx.member.name} · ${t('role.' + ctx.member.role)}`;
  };
  onLangChange(() => {
    cmap.buildControl();
    renderWho();
  });

  const sock = new HubSocket({
    token,
    onStatus: (s) => {
      $('conn').className = 'conn conn-' + s;
      $('conn-text').dataset.i18n = 'status.' + s;
      $('conn-text').textContent = t('status.' + s);
    },
    onWelcome: (member) => {
      // Every (re)connect reloads the state: the command center shows the
      // present, not a history, so it needs no resume.
      ctx.member = member;
      compose.setMember(member);
      members.setMember(member);
      audit.setMember(member);
      // Importing the roster is a commander's or an admin's (docs/API.md v1.5).
      const mayImport = member.role === 'commander' || member.role === 'admin';
      document.querySelector('#mem-sub [data-sub="import"]').hidden = !mayImport;
      if (!mayImport) showMemberSub('list');
      bulletins.ctx.member = member;
      bulletins.renderForm();
      capPending.setMember(member);
      renderWho();
      alerts.load();
      reports.load();
      bulletins.load();
      letters.load();
      credit.setMember(member);
    },
    onEvent: (ev) => {
      switch (ev.type) {
        case 'alert_progress':
          alerts.onProgress(ev.alert_id, ev.progress, ev.status);
          break;
        case 'alert_cancel':
          alerts.onCancel(ev.alert_id);
          break;
        case 'alert_update': // v1.6
          if (ev.alert_update.in_area !== false) alerts.onUpdate(ev.alert_update);
          break;
        case 'report':
          reports.onEvent(ev.report);
          break;
        case 'report_update': // v1.6: also to township staff
          reports.onEvent(ev.report_update);
          break;
        case 'notice':
          reports.onNotice(ev.notice);
          break;
        case 'bulletin':
          bulletins.onEvent(ev.bulletin);
          break;
        case 'letter':
          letters.onEvent(ev.letter);
          break;
        case 'household_board':
          credit.onBoard(ev.household_board);
          break;
        default:
          break;
      }
    },
    onFail: async (n) => {
      if (n !== 1 && n % 5 !== 0) return;
      const res = await check(token);
      if (!res.ok && res.error === t('signin.invalid')) {
        sock.stop();
        sessionStorage.removeItem(tokenKey);
        showSignin(res.error);
      }
    },
  });
  sock.start();
  $('conn').onclick = () => sock.reconnectNow(); // after "opened elsewhere"

  setInterval(async () => {
    try {
      cmap.setDensity(densityCells(await api.get('/api/v1/density?res=7')));
    } catch {
      // keep the last map
    }
  }, densityEvery);
  loadPatrols(api, cmap);
  setInterval(() => loadPatrols(api, cmap), patrolsEvery);
  // Test hook: the e2e tests look at the map's layers through it.
  window.hubCommand = { cmap, alerts, reports, members, roster, audit, letters, refreshPatrols: () => loadPatrols(api, cmap) };
}

/**
 * densityCells is what the density layer draws. A cadre's map (docs/API.md
 * v1.4) comes in two parts, its village's members and the other villages'
 * coarse counts (cells of fewer than 5 left out); at one resolution they
 * are summed per cell.
 */
function densityCells(d) {
  const out = { ...(d.cells || {}) };
  if (d.others && d.others.res === d.res) for (const [c, n] of Object.entries(d.others.cells || {})) out[c] = (out[c] || 0) + n;
  return out;
}

let patrolsAvailable = true;

async function loadPatrols(api, cmap) {
  if (!patrolsAvailable) return;
  try {
    const { members } = await api.get('/api/v1/members?role=patrol');
    cmap.setPatrols(members);
  } catch (e) {
    if (e.status === 404 || e.status === 405) {
      patrolsAvailable = false; // an older hub without the members list
      $('s-patrols').hidden = false;
    }
  }
}

function setupTabs(reports, members) {
  membersRef = members;
  for (const b of document.querySelectorAll('.tabs button')) b.onclick = () => showTab(b.dataset.tab, reports);
}

let reportsRef = null;
let talliesRef = null; // the tallies tab (cmd-tallies.js), read when it opens
let membersRef = null;
let auditRef = null;

/** setupMemberSub switches the members tab between the list and the roster import. */
function setupMemberSub() {
  for (const b of document.querySelectorAll('#mem-sub button')) b.onclick = () => showMemberSub(b.dataset.sub);
}

function showMemberSub(name) {
  for (const b of document.querySelectorAll('#mem-sub button')) b.classList.toggle('active', b.dataset.sub === name);
  $('mem-list-pane').hidden = name !== 'list';
  $('mem-import-pane').hidden = name !== 'import';
}

function showTab(name, reports) {
  if (reports) reportsRef = reports;
  if (name === 'members' && membersRef) membersRef.show();
  if (name === 'audit' && auditRef) auditRef.show();
  if (name === 'tallies' && talliesRef) talliesRef.show();
  for (const b of document.querySelectorAll('.tabs button')) b.classList.toggle('active', b.dataset.tab === name);
  for (const p of document.querySelectorAll('.pane')) p.hidden = p.dataset.pane !== name;
  if (name === 'reports' && reportsRef) setTimeout(() => reportsRef.seen(), 3000);
}

function setupSettings(cmap) {
  $('s-tiles').value = localStorage.getItem('hub.tiles.url') || '';
  $('s-attrib').value = localStorage.getItem('hub.tiles.attrib') || '';
  $('s-crs').value = localStorage.getItem('hub.tiles.crs') === 'gcj02' ? 'gcj02' : 'wgs84';
  $('settings-form').onsubmit = (e) => {
    e.preventDefault();
    const url = $('s-tiles').value.trim();
    if (url) localStorage.setItem('hub.tiles.url', url);
    else localStorage.removeItem('hub.tiles.url');
    localStorage.setItem('hub.tiles.attrib', $('s-attrib').value.trim());
    localStorage.setItem('hub.tiles.crs', $('s-crs').value);
    if (basemapCRS(cmap.basemap) !== cmap.crs) {
      // Everything on the map is drawn in the old CRS: start again.
      location.reload();
      return;
    }
    cmap.applyTiles();
    toast(t('settings.applied'), 'ok');
  };
}

main();
