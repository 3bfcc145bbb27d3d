// alert-cap: what v1.6 (issue 14) adds to an alert on both pages: the
// exercise mark (演练), the text in the reader's language from an
// imported CAP alert's info blocks, and the CAP details kept with it
// (event, category, urgency, certainty, response, sender, web, area).

import { t, getLang } from './i18n.js';
import { esc } from './api.js';

/** infoFor picks the CAP info of the page's language: the same primary language, else Chinese, else none. */
export function infoFor(a) {
  const infos = (a && a.cap && a.cap.infos) || [];
  if (!infos.length) return null;
  const want = getLang().split('-')[0];
  const prim = (i) => String(i.language || '').split(/[-_]/)[0].toLowerCase();
  return infos.find((i) => prim(i) === want) || infos.find((i) => prim(i) === 'zh') || infos[0];
}

/**
 * textOf is the title and body to show: the alert's own (the truth: an
 * update in place changes them), or, for an imported alert whose text is
 * still the one it came with, the info in the reader's language.
 */
export function textOf(a) {
  const own = { title: a.title, body: a.body };
  const infos = (a.cap && a.cap.infos) || [];
  const main = infos.find((i) => String(i.language || '').toLowerCase().startsWith('zh')) || infos[0];
  const mine = infoFor(a);
  if (!mine || !main || mine === main || main.title !== a.title) return own;
  return { title: mine.title || a.title, body: mine.body || '' };
}

/** exerciseChip is the 演练 mark of an exercise ("" otherwise). */
export function exerciseChip(a) {
  return a && a.exercise ? `<span class="chip chip-exercise" data-exercise>${esc(t('alert.exercise'))}</span>` : '';
}

/** capDetails lists the CAP details of an imported alert ("" for the hub's own). */
export function capDetails(a) {
  const i = infoFor(a);
  if (!i) return '';
  const rows = [
    ['cap.event', i.event],
    ['cap.category', (i.category || []).join(', ')],
    ['cap.urgency', i.urgency],
    ['cap.certainty', i.certainty],
    ['cap.response', (i.response_type || []).join(', ')],
    ['cap.sender', i.sender_name],
    ['cap.area', i.area_desc],
  ].filter(([, v]) => v);
  const web = i.web && /^https?:\/\//.test(i.web) ? `<div><a href="${esc(i.web)}" target="_blank" rel="noopener noreferrer">${esc(t('cap.web'))}</a></div>` : '';
  return `<details class="cap-details"><summary>${esc(t('cap.details'))}</summary><dl>${rows
    .map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>${web}</details>`;
}
