// cmd-edit: edit a live alert in place (docs/API.md v1.6,
// POST /api/v1/alerts/{id}/update): new title, body and severity, and
// optionally the area drawn on the map now. The recipients the new area
// takes in get the alert, those it leaves out are told, the others keep
// their answers.

import { t } from './i18n.js';
import { esc, toast } from './api.js';

const sevs = ['extreme', 'severe', 'moderate', 'minor'];

/**
 * editAlert opens the edit dialog for alert a; drawn() is the area drawn
 * in the compose pane now (null when none). It resolves the updated alert,
 * or null when the user closed the dialog.
 */
export function editAlert(api, a, drawn) {
  return new Promise((resolve) => {
    const dlg = document.createElement('div');
    dlg.className = 'modal';
    dlg.id = 'edit-modal';
    dlg.setAttribute('role', 'dialog');
    dlg.setAttribute('aria-modal', 'true');
    const area = drawn ? drawn() : null;
    dlg.innerHTML = `<form class="modal-card edit-form" novalidate>
      <h2>${esc(t('alerts.edit.title'))}</h2>
      <label>${esc(t('compose.severity'))}<select name="severity">${sevs
        .map((s) => `<option value="${s}"${s === a.severity ? ' selected' : ''}>${esc(t('sev.' + s))}</option>`)
        .join('')}</select></label>
      <label>${esc(t('compose.title'))}<input name="title" maxlength="200" value="${esc(a.title)}"></label>
      <label>${esc(t('compose.body'))}<textarea name="body" rows="4" maxlength="4000">${esc(a.body || '')}</textarea></label>
      ${area ? `<label><input type="checkbox" name="area"> ${esc(t('alerts.edit.area'))}</label>` : ''}
      <div class="modal-actions">
        <button type="button" class="btn" data-act="close">${esc(t('common.cancel'))}</button>
        <button type="submit" class="btn btn-danger">${esc(t('alerts.edit.save'))}</button>
      </div></form>`;
    document.body.appendChild(dlg);
    const form = dlg.querySelector('form');
    form.title.focus();
    const done = (v) => {
      dlg.remove();
      resolve(v);
    };
    dlg.querySelector('[data-act="close"]').onclick = () => done(null);
    form.onsubmit = async (e) => {
      e.preventDefault();
      const body = {};
      if (form.title.value.trim() !== a.title) body.title = form.title.value.trim();
      if (form.body.value.trim() !== (a.body || '')) body.body = form.body.value.trim();
      if (form.severity.value !== a.severity) body.severity = form.severity.value;
      if (area && form.area && form.area.checked) body.area = area;
      if (!Object.keys(body).length) return done(null);
      try {
        const res = await api.post('/api/v1/alerts/' + encodeURIComponent(a.id) + '/update', body);
        toast(t('alerts.edit.done', { added: res.added, removed: res.removed }), 'ok');
        done(res.alert);
      } catch (err) {
        toast(t('common.error', { msg: err.message }), 'error');
      }
    };
  });
}
