// Household credit (我家积分) and the village's household board (红黑榜) on
// the member page (docs/API.md v1.6, issue 16 part 5): the member's
// household's balance, credit level and history, and the latest published
// board of the member's village (its red and black boards and the whole
// ranking). A `board` event (a board just published) refreshes both: the
// board places have just earned their points.
//
// resident.js calls setupCredit once and onBoardEvent for each `board`
// event; this file owns #credit in m.html.

import { esc, toast } from './api.js';
import { t, onLangChange, clock } from './i18n.js';

let ctx = null; // {api}
const C = {
  account: null, // GET /api/v1/households/mine/credit, or null
  noHousehold: false,
  board: null, // the latest published board, or null
  noBoard: false,
  loaded: false,
};

/** setupCredit wires the section to the page's API client and loads it. */
export function setupCredit(c) {
  ctx = c;
  onLangChange(render);
  refresh();
}

/** onBoardEvent: a board of the village was published (quiet: replayed on resume, no toast). */
export function onBoardEvent(ev, quiet) {
  const b = ev.household_board || {};
  if (!quiet) toast(t('cr.published', { month: b.month || '' }), 'info');
  refresh();
}

/** refresh reads the household's credit and the village's latest board again (GET /api/v1/credit/mine). */
export async function refresh() {
  if (!ctx) return;
  let r;
  try {
    r = await ctx.api.get('/api/v1/credit/mine');
  } catch {
    return; // offline or an older hub: keep what is shown
  }
  C.account = r.account;
  C.noHousehold = !r.account;
  C.board = r.board;
  C.noBoard = !r.board;
  C.loaded = true;
  render();
}

const signed = (n) => (n > 0 ? '+' + n : String(n));

function renderAccount() {
  if (C.noHousehold) return `<div class="muted">${esc(t('cr.nohousehold'))}</div>`;
  const a = C.account;
  if (!a) return `<div class="muted">${esc(t('common.loading'))}</div>`;
  const hist = [...a.entries].reverse();
  return `<div class="cr-sum"><span class="cr-name">${esc(a.name)}</span>
      <span class="cr-balance">${esc(t('cr.balance'))} <strong id="cr-balance">${esc(String(a.balance))}</strong></span>
      <span class="cr-level">${esc(t('cr.level'))} <strong id="cr-level">${esc(a.level || '-')}</strong></span></div>
    ${
      hist.length
        ? `<ul class="cr-hist">${hist
            .map(
              (e) => `<li class="cr-entry" data-entry-id="${esc(String(e.id))}">
              <span class="cr-pts ${e.points > 0 ? 'cr-plus' : 'cr-minus'}">${esc(signed(e.points))}</span>
              <span class="cr-reason">${esc(e.reason)}</span>
              <span class="muted cr-at">${esc(clock(e.at))}</span></li>`,
            )
            .join('')}</ul>`
        : `<div class="muted">${esc(t('cr.nohistory'))}</div>`
    }`;
}

function boardList(places, cls) {
  if (!places.length) return `<div class="muted">${esc(t('common.none'))}</div>`;
  return `<ol class="cr-board ${cls}">${places
    .map(
      (p) => `<li data-household-id="${esc(p.household_id)}"><span class="cr-place">${esc(t('cr.place', { n: p.place }))}</span>
        <span class="cr-hname">${esc(p.name)}</span><span class="cr-total">${esc(t('cr.total', { n: p.total }))}</span></li>`,
    )
    .join('')}</ol>`;
}

function renderBoard() {
  if (C.noBoard) return `<div class="muted">${esc(t('cr.noboard'))}</div>`;
  const b = C.board;
  if (!b) return `<div class="muted">${esc(t('common.loading'))}</div>`;
  return `<div class="muted cr-month">${esc(t('cr.month', { month: b.month }))}</div>
    <h4 class="cr-red-h">${esc(t('cr.red'))}</h4>${boardList(b.red, 'cr-red')}
    <h4 class="cr-black-h">${esc(t('cr.black'))}</h4>${boardList(b.black, 'cr-black')}
    <details class="cr-rank"><summary>${esc(t('cr.ranking', { n: b.ranking.length }))}</summary>${boardList(b.ranking, 'cr-all')}</details>`;
}

/** render draws #credit. */
export function render() {
  const box = document.getElementById('credit');
  if (!box || !ctx || !C.loaded) return;
  box.hidden = false;
  box.innerHTML = `<h2 class="cr-title">${esc(t('cr.mine'))}</h2><div id="cr-account">${renderAccount()}</div>
    <h2 class="cr-title">${esc(t('cr.board'))}</h2><div id="cr-village-board">${renderBoard()}</div>`;
}
