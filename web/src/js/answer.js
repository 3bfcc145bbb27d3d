// The answer page of an SMS answer link (GET /a/{code}): the one alert the
// link names and big buttons to answer it, without signing in. It reads
// and writes only /api/v1/answer/{code} (docs/API.md v1.5), which shows
// that alert and that member's own answer, nothing about anyone else.

import { Api, esc, toast } from './api.js';
import { t, applyI18n, toggleLang, onLangChange, clock } from './i18n.js';

const $ = (id) => document.getElementById(id);
const code = decodeURIComponent(location.pathname.replace(/^\/a\//, ''));
const path = '/api/v1/answer/' + encodeURIComponent(code);
const api = new Api('');
let page = null;
let sending = false;

function fatal(msg) {
  $('loading').hidden = true;
  $('alert').hidden = true;
  $('fatal').textContent = msg;
  $('fatal').hidden = false;
}

function render() {
  if (!page) return;
  const a = page.alert;
  $('loading').hidden = true;
  $('alert').hidden = false;
  $('alert').className = 'card alert-card sev-' + a.severity + ' status-' + a.status;
  $('who').textContent = page.name ? t('a.hello', { name: page.name }) : '';
  $('a-kind').textContent = t('kind.' + a.kind);
  $('a-sev').textContent = t('sev.' + a.severity);
  $('a-exp').textContent = t('a.until', { time: clock(a.expires_at) });
  $('a-title').textContent = a.title;
  $('a-body').textContent = a.body;
  const active = a.status === 'active';
  $('a-ended').hidden = active;
  $('a-q').hidden = !active;
  const ans = $('a-answered');
  ans.hidden = !page.response;
  if (page.response) {
    ans.className = 'answered answered-' + page.response;
    const label = { need_help: 'a.help', coming: 'a.go' }[page.response] || 'resp.' + page.response;
    let txt = t('a.answered', { resp: t(label) });
    if (page.response === 'coming' && page.eta_min != null) txt += ' · ' + page.eta_min + ' ' + t('common.minutes');
    ans.textContent = txt;
  }
  const sel = (r) => (page.response === r ? ' selected' : '');
  const cls = 'btn btn-huge';
  let html;
  if (a.kind === 'mobilization') {
    html = `<button type="button" class="${cls} btn-coming${sel('coming')}" data-resp="coming">${esc(t('a.go'))}</button>
      <button type="button" class="${cls} btn-unavailable${sel('unavailable')}" data-resp="unavailable">${esc(t('resp.unavailable'))}</button>`;
  } else {
    html = `<button type="button" class="${cls} btn-received${sel('received')}" data-resp="received">${esc(t('resp.received'))}</button>
      <button type="button" class="${cls} btn-safe${sel('safe')}" data-resp="safe">${esc(t('resp.safe'))}</button>
      <button type="button" class="${cls} btn-help${sel('need_help')}" data-resp="need_help">${esc(t('a.help'))}</button>`;
  }
  $('a-buttons').innerHTML = active ? `<div class="answers">${html}</div>` : '';
  if (!active) $('a-eta').hidden = true;
}

async function load() {
  try {
    page = await api.get(path);
    render();
  } catch (e) {
    if (e.status === 404) fatal(t('a.invalid'));
    else if (e.offline) fatal(t('a.offline'));
    else fatal(t('common.error', { msg: e.message }));
  }
}

async function answer(response, etaMin) {
  if (sending) return;
  sending = true;
  try {
    const body = { response };
    if (etaMin !== undefined) body.eta_min = etaMin;
    const r = await api.post(path, body);
    page.response = r.ack.response;
    page.eta_min = etaMin ?? null;
    $('a-eta').hidden = true;
    render();
    toast(t('a.thanks'), 'ok');
  } catch (e) {
    if (e.status === 409) {
      await load();
      toast(t('a.ended'), 'error');
    } else if (e.status === 404) fatal(t('a.invalid'));
    else toast(e.offline ? t('a.offline') : t('common.error', { msg: e.message }), 'error', 6000);
  } finally {
    sending = false;
  }
}

function start() {
  applyI18n();
  $('lang').onclick = toggleLang;
  onLangChange(render);
  $('a-buttons').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-resp]');
    if (!b) return;
    if (b.dataset.resp === 'coming') {
      $('a-eta').hidden = false;
      $('a-eta').scrollIntoView({ behavior: 'smooth', block: 'center' });
      return;
    }
    answer(b.dataset.resp);
  });
  $('a-eta').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-eta]');
    if (b) answer('coming', Number(b.dataset.eta));
  });
  if (!/^[A-Za-z0-9_-]+$/.test(code)) return fatal(t('a.invalid'));
  load();
}

start();
