// Mailbox (信箱) on the member page (docs/API.md v1.6 "the villager
// mailbox", issue 16): write a private letter to the village secretary
// (the village's cadres) or to the township, list one's letters, read a
// letter's thread and who can read it, go on with it or close it. The
// replies arrive live: a `letter` event reloads the list and the open
// letter. Staff who read letters see them here too (and answer them).
//
// resident.js calls setupMailbox once and onLetterEvent for each `letter`
// event; this file owns #tab-mail in m.html.

import { esc, toast } from './api.js';
import { t, onLangChange, clock } from './i18n.js';

const $ = (id) => document.getElementById(id);
let ctx = null; // {api, member: () => member, onNew: () => void}
const M = { letters: [], open: null, loading: false, sending: false };

/** setupMailbox wires the tab to the page's API client and member. */
export function setupMailbox(c) {
  ctx = c;
  $('mail-form').onsubmit = (e) => {
    e.preventDefault();
    send();
  };
  $('mail-list').onclick = (e) => {
    const card = e.target.closest('[data-letter-id]');
    if (card) openLetter(card.dataset.letterId);
  };
  $('mail-read').onclick = onReadClick;
  onLangChange(render);
  load();
}

/** onLetterEvent takes a `letter` event: the list and the open letter are read again. */
export function onLetterEvent(ev) {
  const l = ev.letter || {};
  const e = l.entry || {};
  const me = ctx && ctx.member();
  if (me && e.actor_id && e.actor_id !== me.id && e.kind === 'reply') {
    toast(t('mail.replied', { s: l.subject || '' }), 'info');
    if (ctx.onNew) ctx.onNew();
  }
  load();
  if (M.open && M.open.id === l.id) openLetter(l.id);
}

async function load() {
  if (!ctx) return;
  try {
    M.letters = (await ctx.api.get('/api/v1/letters?limit=100')).letters || [];
  } catch {
    return; // keep the last list
  }
  render();
}

async function send() {
  if (M.sending) return;
  const subject = $('mail-subject').value.trim();
  const body = $('mail-body').value.trim();
  if (!subject || !body) {
    toast(t('mail.required'), 'error');
    return;
  }
  M.sending = true;
  $('mail-send').disabled = true;
  try {
    const { letter } = await ctx.api.post('/api/v1/letters', { to: $('mail-to').value, subject, body });
    $('mail-subject').value = '';
    $('mail-body').value = '';
    toast(t('mail.sent'), 'ok');
    M.letters = [letter, ...M.letters.filter((x) => x.id !== letter.id)];
    render();
  } catch (e) {
    toast(e.offline ? t('mail.offline') : t('common.error', { msg: e.message }), 'error');
  } finally {
    M.sending = false;
    $('mail-send').disabled = false;
  }
}

async function openLetter(id) {
  try {
    M.open = (await ctx.api.get('/api/v1/letters/' + encodeURIComponent(id))).letter;
  } catch (e) {
    toast(t('common.error', { msg: e.message }), 'error');
    return;
  }
  renderRead();
}

async function onReadClick(e) {
  const b = e.target.closest('button[data-act]');
  if (!b || !M.open) return;
  if (b.dataset.act === 'back') {
    M.open = null;
    renderRead();
    return;
  }
  const body = ($('mail-reply') && $('mail-reply').value.trim()) || '';
  const close = b.dataset.act === 'close';
  if (!close && !body) return;
  b.disabled = true;
  try {
    await ctx.api.post('/api/v1/letters/' + encodeURIComponent(M.open.id) + '/reply', { body, close });
    await openLetter(M.open.id);
    load();
  } catch (err) {
    toast(t('common.error', { msg: err.message }), 'error');
    b.disabled = false;
  }
}

function statusText(l) {
  let s = t('mail.status.' + l.status);
  if (l.overdue && l.status === 'open') s += ' · ' + t('mail.overdue');
  return s;
}

function render() {
  const box = $('mail-list');
  if (!box) return;
  if (!M.letters.length) {
    box.innerHTML = `<div class="muted empty">${esc(t('mail.none'))}</div>`;
  } else {
    box.innerHTML = M.letters
      .map(
        (l) => `<article class="card letter letter-${esc(l.status)}" data-letter-id="${esc(l.id)}" tabindex="0">
  <div class="row"><strong class="letter-subject">${esc(l.subject)}</strong>
    <span class="letter-status${l.overdue && l.status === 'open' ? ' overdue' : ''}">${esc(statusText(l))}</span></div>
  <div class="muted">${esc(t('mail.to.' + l.to))} · ${esc(t('mail.level.' + l.level))} · ${esc(clock(l.created_at))}</div>
</article>`,
      )
      .join('');
  }
  renderRead();
}

function renderRead() {
  const box = $('mail-read');
  if (!box) return;
  const l = M.open;
  box.hidden = !l;
  $('mail-write').hidden = !!l;
  $('mail-list').hidden = !!l;
  if (!l) {
    box.innerHTML = '';
    return;
  }
  const me = ctx.member() || {};
  const thread = (l.thread || [])
    .map((e) => {
      let text = e.body || '';
      if (e.kind === 'overdue') text = t('mail.step.overdue');
      if (e.kind === 'escalate') text = t('mail.step.escalate', { level: t('mail.level.' + e.level) });
      if (e.kind === 'share') text = t('mail.step.share');
      if (e.kind === 'close' && !text) text = t('mail.step.close');
      const mine = e.actor_id && e.actor_id === me.id;
      const who = e.actor_id ? (mine ? t('mail.me') : e.actor_name || '') : t('mail.system');
      return `<li class="entry entry-${esc(e.kind)}${mine ? ' mine' : ''}" data-kind="${esc(e.kind)}">
  <div class="muted">${esc(who)} · ${esc(clock(e.at))}</div><div class="entry-body">${esc(text)}</div></li>`;
    })
    .join('');
  const readers = (l.readers || [])
    .map((r) => `<li>${esc(r.name || r.member_id)}（${esc(t('role.' + r.role))} · ${esc(t('mail.reason.' + r.reason))}）</li>`)
    .join('');
  const closed = l.status === 'closed';
  box.innerHTML = `<div class="card">
  <button type="button" class="btn btn-small" data-act="back">${esc(t('mail.back'))}</button>
  <h2 class="letter-subject">${esc(l.subject)}</h2>
  <div class="muted">${esc(t('mail.to.' + l.to))} · ${esc(t('mail.level.' + l.level))} · <span class="letter-status">${esc(statusText(l))}</span></div>
  <ol id="mail-thread" class="thread">${thread}</ol>
  <details class="readers"><summary>${esc(t('mail.readers'))}</summary><ul id="mail-readers">${readers || `<li>${esc(t('common.none'))}</li>`}</ul></details>
  ${
    closed
      ? `<div class="muted">${esc(t('mail.closed'))}</div>`
      : `<label class="field"><span>${esc(t('mail.reply'))}</span><textarea id="mail-reply" rows="3" maxlength="5000"></textarea></label>
  <div class="row"><button type="button" class="btn btn-primary" data-act="reply">${esc(t('mail.reply.send'))}</button>
  <button type="button" class="btn" data-act="close">${esc(t('mail.close'))}</button></div>`
  }
</div>`;
}
