// cmd-templates: "start from a template" in the alert composer (issue 14,
// docs/API.md v1.6). The templates (the built-in flood, landslide, freeze,
// fire and typhoon ones, as the county edited them, and its own) come from
// GET /api/v1/templates; picking one fills kind, severity, title, body,
// expiry and roles, and the operator then draws the area and sends.

import { t, onLangChange } from './i18n.js';
import { esc } from './api.js';

const $ = (id) => document.getElementById(id);

export class TemplatePicker {
  /** compose is the Compose form it fills. */
  constructor(compose) {
    this.compose = compose;
    this.list = [];
    $('c-template').onchange = () => {
      const tpl = this.list.find((x) => x.id === $('c-template').value);
      if (tpl) this.apply(tpl);
    };
    onLangChange(() => this.render());
  }

  /** load reads the templates (staff only; a hub without them hides the picker). */
  async load() {
    const m = this.compose.ctx.member;
    if (!m || !['cadre', 'commander', 'admin'].includes(m.role)) {
      $('c-template-row').hidden = true;
      return;
    }
    try {
      this.list = (await this.compose.ctx.api.get('/api/v1/templates')).templates || [];
    } catch {
      this.list = [];
    }
    $('c-template-row').hidden = this.list.length === 0;
    this.render();
  }

  render() {
    const sel = $('c-template').value;
    $('c-template').innerHTML =
      `<option value="">${esc(t('tpl.none'))}</option>` +
      this.list.map((x) => `<option value="${esc(x.id)}">${esc(x.name)}${x.edited ? ' ' + esc(t('tpl.edited')) : ''}</option>`).join('');
    $('c-template').value = this.list.some((x) => x.id === sel) ? sel : '';
  }

  /** apply fills the form from a template; the area stays as drawn. */
  apply(tpl) {
    const c = this.compose;
    $('c-kind').value = tpl.kind;
    $('c-severity').value = tpl.severity;
    $('c-title').value = tpl.title;
    $('c-body').value = tpl.body;
    const exp = $('c-expires');
    if (![...exp.options].some((o) => o.value === String(tpl.expiry_hours))) {
      const o = document.createElement('option');
      o.value = String(tpl.expiry_hours);
      o.textContent = tpl.expiry_hours < 48 ? t('exp.h', { n: tpl.expiry_hours }) : t('exp.d', { n: +(tpl.expiry_hours / 24).toFixed(1) });
      exp.appendChild(o);
    }
    exp.value = String(tpl.expiry_hours);
    const roles = tpl.roles && tpl.roles.length ? new Set(tpl.roles) : null;
    for (const i of document.querySelectorAll('#c-roles input')) i.checked = !roles || roles.has(i.value);
    if (!c.voiceTouched) $('c-voice').value = c.voiceDefault();
    c.renderVoiceHelp();
    c.changed();
  }
}
