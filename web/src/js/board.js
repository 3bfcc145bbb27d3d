// The village board (村务公开栏 / 曝光台) on the member page (docs/API.md
// v1.6, issue 16 part 2): the village's public reports with their photos
// (before and after), the committee's answer and status, and its
// confirmed good deeds (好人好事), newest first; like (点赞) and urge (督促)
// buttons, once each; the village's rectification rate; and a form to
// record a good deed, which a cadre then confirms.
//
// resident.js calls setupBoard once and onBoardEvent for each board
// event; this file owns #board in m.html and refreshes it when its tab
// is opened.

import { esc, toast } from './api.js';
import { t, ago, onLangChange } from './i18n.js';
import { shrinkPhoto } from './photo.js';

let ctx = null; // {api, member: () => member}
const B = {
  items: [], // board items (docs/API.md v1.6 board)
  rate: null,
  loaded: false,
  denied: false,
  busy: new Set(), // "type:id:kind" with a request in flight
};
let refreshTimer = null;

/** setupBoard wires the board to the page's API client and member. */
export function setupBoard(c) {
  ctx = c;
  const box = document.getElementById('board');
  box.addEventListener('click', onClick);
  box.addEventListener('submit', onSubmit);
  for (const b of document.querySelectorAll('.m-tabs button[data-tab="board"]')) {
    b.addEventListener('click', () => refreshBoard());
  }
  onLangChange(renderBoard);
  renderBoard();
}

function shown() {
  const s = document.getElementById('tab-board');
  return !!s && !s.hidden;
}

/** refreshBoard reads the first page of the member's village board. */
export async function refreshBoard() {
  if (!ctx || !ctx.api) return;
  try {
    const r = await ctx.api.get('/api/v1/board?limit=50');
    B.items = r.items;
    B.rate = r.rate;
    B.loaded = true;
    B.denied = false;
  } catch (e) {
    if (e.status === 403 || e.status === 400) B.denied = true;
    else if (!e.offline) toast(t('common.error', { msg: e.message }), 'error');
  }
  renderBoard();
}

function key(it) {
  const o = it.report || it.deed;
  return it.type + ':' + o.id;
}

/** onBoardEvent applies a board event: the item as it is now (without the caller's liked/urged). */
export function onBoardEvent(ev) {
  const it = ev.board && ev.board.item;
  if (!it || !(it.report || it.deed)) return;
  const i = B.items.findIndex((x) => key(x) === key(it));
  if (i >= 0) {
    const old = B.items[i].report || B.items[i].deed;
    const now = it.report || it.deed;
    now.liked = old.liked;
    now.urged = old.urged;
    B.items[i] = it;
  } else if (B.loaded) {
    B.items.unshift(it);
  }
  renderBoard();
  // The rate comes with the page: read it again, once for a burst.
  if (B.loaded && shown()) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshBoard, 800);
  }
}

function pct(r) {
  return Math.round(r * 100) + '%';
}

function photos(list, label) {
  if (!list || !list.length) return '';
  return `<div class="board-photos"><span class="muted">${esc(label)}</span>${list
    .map((id) => `<img class="thumb" alt="${esc(label)}" src="${esc(ctx.api.mediaURL(id))}">`)
    .join('')}</div>`;
}

function reactBtn(type, o, kind, n, done) {
  const busy = B.busy.has(type + ':' + o.id + ':' + kind);
  return `<button type="button" class="btn btn-small board-${kind}${done ? ' active' : ''}" data-react="${kind}"
    aria-pressed="${done ? 'true' : 'false'}"${busy || done ? ' disabled' : ''}>${esc(t('board.' + kind))} <span class="count">${n}</span></button>`;
}

/** renderBoard draws the board tab. */
export function renderBoard() {
  const box = document.getElementById('board');
  if (!box || !ctx) return;
  let html = `<div class="card board-head"><h2>${esc(t('board.title'))}</h2>`;
  if (B.rate) {
    html += `<div class="board-rate">${esc(t('board.rate'))}：<strong id="board-rate-value">${
      B.rate.rate === null ? '—' : pct(B.rate.rate)
    }</strong> <span class="muted">${esc(t('board.rate.detail', { resolved: B.rate.resolved, counted: B.rate.counted }))}</span></div>`;
  }
  html += `<details class="board-deed-form"><summary>${esc(t('board.deed.new'))}</summary>
    <form id="deed-form" novalidate>
      <label class="field"><span>${esc(t('board.deed.title'))}</span><input id="deed-title" maxlength="100"></label>
      <label class="field"><span>${esc(t('board.deed.about'))}</span><input id="deed-about" maxlength="100"></label>
      <label class="field"><span>${esc(t('board.deed.text'))}</span><textarea id="deed-text" rows="3" maxlength="2000"></textarea></label>
      <label class="field"><span>${esc(t('board.photos'))}</span><input id="deed-photo" type="file" accept="image/*"></label>
      <button type="submit" class="btn btn-primary">${esc(t('board.deed.send'))}</button>
    </form></details></div>`;
  if (B.denied) {
    box.innerHTML = html + `<div class="muted">${esc(t('board.denied'))}</div>`;
    return;
  }
  if (!B.loaded) {
    box.innerHTML = html + `<div class="muted">${esc(t('common.loading'))}</div>`;
    return;
  }
  if (!B.items.length) {
    box.innerHTML = html + `<div class="empty">${esc(t('board.empty'))}</div>`;
    return;
  }
  for (const it of B.items) {
    if (it.type === 'report') {
      const r = it.report;
      html += `<article class="card board-item board-report status-${esc(r.status)}" data-type="report" data-id="${esc(r.id)}">
        <div class="alert-meta"><span class="chip">${esc(t('board.exposed'))}</span><span class="chip">${esc(t('rk.' + r.kind))}</span>
          <span class="chip chip-status chip-${esc(r.status)}">${esc(t('rs.' + r.status))}</span>
          <span class="muted">${esc(r.reporter)} · ${esc(ago(r.created_at))}</span></div>
        ${r.text ? `<p>${esc(r.text)}</p>` : ''}
        ${r.place && r.place.name ? `<div class="place">${esc(r.place.name)}</div>` : ''}
        ${photos(r.photos, t('board.before'))}
        ${photos(r.rectification_photos, t('board.after'))}
        ${r.feedback ? `<div class="feedback"><strong>${esc(t('board.answer'))}：</strong><span class="feedback-text">${esc(r.feedback)}</span></div>` : ''}
        <div class="row board-actions">${reactBtn('report', r, 'like', r.likes, r.liked)}${reactBtn('report', r, 'urge', r.urges, r.urged)}</div>
      </article>`;
    } else {
      const d = it.deed;
      html += `<article class="card board-item board-deed" data-type="deed" data-id="${esc(d.id)}">
        <div class="alert-meta"><span class="chip chip-deed">${esc(t('board.deed'))}</span>
          <span class="muted">${esc(d.author)} · ${esc(ago(d.decided_at || d.created_at))}</span></div>
        <h3>${esc(d.title)}</h3>
        ${d.about ? `<div class="muted">${esc(t('board.deed.about'))}：${esc(d.about)}</div>` : ''}
        ${d.text ? `<p>${esc(d.text)}</p>` : ''}
        ${photos(d.photos, t('board.photos'))}
        <div class="row board-actions">${reactBtn('deed', d, 'like', d.likes, d.liked)}</div>
      </article>`;
    }
  }
  box.innerHTML = html;
}

async function onClick(e) {
  const b = e.target.closest('button[data-react]');
  if (!b) return;
  const card = b.closest('.board-item');
  const type = card.dataset.type;
  const id = card.dataset.id;
  const kind = b.dataset.react;
  const k = type + ':' + id + ':' + kind;
  if (B.busy.has(k)) return;
  B.busy.add(k);
  renderBoard();
  try {
    const path = type === 'report' ? `/api/v1/reports/${encodeURIComponent(id)}/${kind}` : `/api/v1/deeds/${encodeURIComponent(id)}/like`;
    const c = await ctx.api.post(path, {});
    const it = B.items.find((x) => x.type === type && (x.report || x.deed).id === id);
    if (it) {
      const o = it.report || it.deed;
      o.likes = c.likes;
      o.liked = c.liked;
      if (type === 'report') {
        o.urges = c.urges;
        o.urged = c.urged;
      }
    }
    toast(t(kind === 'like' ? 'board.liked' : 'board.urged'), 'ok');
  } catch (err) {
    toast(err.offline ? t('hh.offline') : t('common.error', { msg: err.message }), 'error');
  } finally {
    B.busy.delete(k);
    renderBoard();
  }
}

async function onSubmit(e) {
  if (e.target.id !== 'deed-form') return;
  e.preventDefault();
  const title = document.getElementById('deed-title').value.trim();
  if (!title) return document.getElementById('deed-title').focus();
  const body = {
    title,
    about: document.getElementById('deed-about').value.trim(),
    text: document.getElementById('deed-text').value.trim(),
  };
  const btn = e.target.querySelector('button[type="submit"]');
  btn.disabled = true;
  try {
    const file = document.getElementById('deed-photo').files[0];
    if (file) body.photos = [(await ctx.api.upload(await shrinkPhoto(file))).id];
    await ctx.api.post('/api/v1/deeds', body);
    toast(t('board.deed.sent'), 'ok');
    renderBoard(); // a fresh, closed form
  } catch (err) {
    btn.disabled = false;
    toast(err.offline ? t('hh.offline') : t('common.error', { msg: err.message }), 'error');
  }
}
