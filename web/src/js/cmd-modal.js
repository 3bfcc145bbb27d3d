// cmd-modal: a confirmation dialog that states what will happen (the
// browser's confirm() cannot be styled or translated).

import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** confirmModal resolves true when the user confirms. */
export function confirmModal(title, body, okLabel) {
  return new Promise((resolve) => {
    const m = $('modal');
    $('modal-title').textContent = title;
    $('modal-body').textContent = body;
    $('modal-ok').textContent = okLabel;
    $('modal-cancel').textContent = t('common.cancel');
    m.hidden = false;
    $('modal-ok').focus();
    const done = (v) => {
      m.hidden = true;
      $('modal-ok').onclick = $('modal-cancel').onclick = null;
      removeEventListener('keydown', onKey);
      resolve(v);
    };
    const onKey = (e) => e.key === 'Escape' && done(false);
    addEventListener('keydown', onKey);
    $('modal-ok').onclick = () => done(true);
    $('modal-cancel').onclick = () => done(false);
  });
}
