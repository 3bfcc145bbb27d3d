// cmd-board: the command center's part of the village board (docs/API.md
// v1.6, issue 16 part 2): on a public report's card, its like and urge
// counts, its rectification ("after") photos and a button to upload them
// (PUT /api/v1/reports/{id}/rectification); and the good deeds waiting
// for confirmation (GET /api/v1/deeds?status=pending) with confirm and
// reject buttons. cmd-reports.js calls boardExtras for each card and
// onRectifyInput for its file inputs; command.js calls setupDeeds once.

import { t, onLangChange, ago } from './i18n.js';
import { esc, toast } from './api.js';
import { shrinkPhoto } from './photo.js';

/** boardExtras is the board's part of a report card ('' for a private report). */
export function boardExtras(r, api) {
  if (r.visibility !== 'public') return '';
  const after = (r.rectification_photos || [])
    .map((id) => `<a href="${esc(api.mediaURL(id))}" target="_blank" rel="noopener noreferrer"><img class="rphoto rphoto-after" src="${esc(api.mediaURL(id))}" alt="${esc(t('board.after'))}" loading="lazy"></a>`)
    .join('');
  return `<div class="rcard-board">
    <span class="chip chip-public">${esc(t('cmd.board.public'))}</span>
    <span class="muted">${esc(t('board.like'))} <span class="r-likes">${r.likes || 0}</span> · ${esc(t('board.urge'))} <span class="r-urges">${r.urges || 0}</span></span>
    ${after ? `<div class="rphotos"><span class="muted small">${esc(t('board.after'))}</span>${after}</div>` : ''}
    <label class="btn btn-small">${esc(t('cmd.board.rectify'))}<input type="file" accept="image/*" class="r-rectify visually-hidden"></label>
  </div>`;
}

/** onRectifyInput uploads the chosen "after" photo and sets it as the report's rectification photo. */
export async function onRectifyInput(e, reports) {
  const input = e.target.closest('input.r-rectify');
  if (!input || !input.files || !input.files[0]) return;
  const card = input.closest('[data-report-id]');
  const id = card.dataset.reportId;
  input.disabled = true;
  try {
    const blob = await shrinkPhoto(input.files[0]);
    const media = await reports.ctx.api.upload(blob);
    const { report } = await reports.ctx.api.req('PUT', '/api/v1/reports/' + encodeURIComponent(id) + '/rectification', { photos: [media.id] });
    reports.reports.set(report.id, report);
    toast(t('cmd.board.rectified'), 'ok');
    reports.render();
  } catch (err) {
    input.disabled = false;
    toast(t('common.error', { msg: err.message }), 'error');
  }
}

/** setupDeeds shows the pending good deeds in #deeds and wires confirm and reject. */
export function setupDeeds(ctx) {
  const box = document.getElementById('deeds');
  if (!box) return;
  let deeds = [];
  let loaded = false;
  const render = () => {
    let html = `<h3>${esc(t('cmd.board.deeds'))}</h3>`;
    if (loaded && !deeds.length) html += `<div class="muted">${esc(t('cmd.board.none'))}</div>`;
    for (const d of deeds) {
      html += `<article class="dcard" data-deed-id="${esc(d.id)}">
        <strong>${esc(d.title)}</strong> <span class="muted">${esc(d.author)} · ${esc(ago(d.created_at))}</span>
        ${d.about ? `<div>${esc(t('board.deed.about'))}：${esc(d.about)}</div>` : ''}
        ${d.text ? `<p>${esc(d.text)}</p>` : ''}
        <button type="button" class="btn btn-small btn-primary" data-deed="confirm">${esc(t('cmd.board.confirm'))}</button>
        <button type="button" class="btn btn-small" data-deed="reject">${esc(t('cmd.board.reject'))}</button>
      </article>`;
    }
    box.innerHTML = html;
  };
  const load = async () => {
    try {
      deeds = (await ctx.api.get('/api/v1/deeds?status=pending&limit=100')).deeds;
      loaded = true;
      render();
    } catch {
      /* a role without deeds to confirm, or offline: leave the panel as it is */
    }
  };
  box.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-deed]');
    if (!b) return;
    const id = b.closest('[data-deed-id]').dataset.deedId;
    b.disabled = true;
    try {
      await ctx.api.post('/api/v1/deeds/' + encodeURIComponent(id) + '/' + b.dataset.deed, {});
      deeds = deeds.filter((d) => d.id !== id);
      toast(t('common.saved'), 'ok');
      render();
    } catch (err) {
      b.disabled = false;
      toast(t('common.error', { msg: err.message }), 'error');
      load();
    }
  });
  onLangChange(render);
  for (const b of document.querySelectorAll('.tabs button[data-tab="reports"]')) b.addEventListener('click', load);
  setInterval(() => !document.hidden && load(), 30000);
  render();
  load();
  return { load };
}
