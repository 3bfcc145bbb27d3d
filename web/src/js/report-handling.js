// report-handling: what the member page shows a reporter of how its report
// is handled (docs/API.md v1.6): the level it went up to, the overdue
// mark, and its history (GET /api/v1/reports/{id}/history), opened per
// report card. The names of staff are not shown to residents: the history
// says 工作人员 / 系统.

import { t, clock } from './i18n.js';
import { esc, toast } from './api.js';

const shown = new Map(); // report id -> history entries, while open

/** handlingChips are the level and overdue chips of a report card. */
export function handlingChips(r) {
  const level = r.level && r.level !== 'village' ? `<span class="chip chip-level">${esc(t('level.' + r.level))}</span>` : '';
  const overdue = r.overdue ? `<span class="chip chip-overdue">${esc(t('reports.overdue'))}</span>` : '';
  return level + overdue;
}

/** historyBlock is a report card's history link and, when open, its entries. */
export function historyBlock(r, me) {
  const hs = shown.get(r.id);
  const link = `<a href="#" class="r-history-toggle" data-history="${esc(r.id)}">${esc(t(hs ? 'reports.history.hide' : 'reports.history'))}</a>`;
  if (!hs) return `<div class="r-history-line">${link}</div>`;
  const who = (a) => (a === 'system' ? t('history.system') : a === me ? t('history.me') : t('history.staff'));
  const rows = hs.map((h) => `<li><span class="muted">${esc(clock(h.at))}</span> ${esc(who(h.actor))} · ${esc(historyText(h, () => t('history.staff')))}</li>`).join('');
  return `<div class="r-history-line">${link}</div><ol class="r-history">${rows}</ol>`;
}

/** setupReportHistory opens and closes histories in box; render redraws the cards. */
export function setupReportHistory(api, box, render) {
  box.addEventListener('click', async (e) => {
    const a = e.target.closest('a[data-history]');
    if (!a) return;
    e.preventDefault();
    const id = a.dataset.history;
    if (shown.has(id)) {
      shown.delete(id);
      render();
      return;
    }
    try {
      const d = await api.get('/api/v1/reports/' + encodeURIComponent(id) + '/history');
      shown.set(id, d.history || []);
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
      return;
    }
    render();
  });
}

/** refreshHistory reloads an open history after its report changed. */
export async function refreshHistory(api, id, render) {
  if (!shown.has(id)) return;
  try {
    const d = await api.get('/api/v1/reports/' + encodeURIComponent(id) + '/history');
    shown.set(id, d.history || []);
    render();
  } catch {
    // kept as it was; the next change tries again
  }
}

/** historyText is one history entry in words (who is given by name). */
export function historyText(h, name) {
  switch (h.change) {
    case 'created':
      return t('history.created');
    case 'status':
      return t('history.status', { from: t('rs.' + h.from), to: t('rs.' + h.to) });
    case 'feedback':
      return t('history.feedback');
    case 'assignee':
      return h.to ? t('history.assignee', { to: name(h.to) }) : t('history.unassigned');
    case 'overdue':
      return t('history.overdue');
    case 'reminder':
      return t('history.reminder', { n: h.to });
    case 'reminder_sms':
      return t('history.reminder_sms', { n: h.to });
    case 'level':
      return t('history.level', { to: t('level.' + h.to) });
    default:
      return h.change;
  }
}
