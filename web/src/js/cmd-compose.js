// cmd-compose: compose an alert. The area is drawn on the map (circle,
// polygon), picked as villages, or set as "N minutes' reach from here";
// while it changes the page asks POST /api/v1/alerts/preview how many
// members are inside and online, and sending asks for confirmation with
// those numbers. A reach over the hub's travel network comes back with its
// isochrone, drawn instead of the circle; without a network the page says
// the circle is a straight-line estimate.
//
// Issue 12 (docs/API.md v1.5): a voice call for those who have not
// answered N seconds after their SMS (on by default for extreme alerts);
// the preview also says how many targets are placed only at their village
// centre, how many have no phone, and how long the SMS will take to go out.

import { t, onLangChange, duration } from './i18n.js';
import { esc, toast } from './api.js';
import { Drawer } from './cmd-draw.js';
import { reachRadiusM } from './cmd-map.js';
import { confirmModal } from './cmd-modal.js';
import { longDuration } from './cmd-util.js';
import { TemplatePicker } from './cmd-templates.js';

const $ = (id) => document.getElementById(id);
const roles = ['resident', 'patrol', 'cadre', 'commander'];
const smsChoices = ['', '0', '30', '60', '120', '300', '600'];
const expiryHours = [2, 6, 24, 72, 168];
const voiceChoices = ['', '60', '120', '300', '600', '900'];
const voiceDefaultExtreme = '300'; // the hub's default for extreme alerts

export class Compose {
  constructor(ctx) {
    this.ctx = ctx; // {api, cmap, villages: Map, member, onSent}
    this.mode = null;
    this.villages = new Set();
    this.previewSeq = 0;
    this.preview = null; // {targeted, connected, reach} for the current area
    this.timer = null;
    this.voiceTouched = false; // the operator chose the voice call: severity no longer sets it
    this.drawer = new Drawer(ctx.cmap.map, ctx.cmap.layers.draw, () => this.changed(), (on) => ctx.cmap.setDrawing(on), (ll) => ctx.cmap.unll(ll));
    ctx.cmap.onVillageClick = (id) => {
      if (this.mode === 'villages' && !this.cadreLocked()) this.toggleVillage(id);
    };
    this.renderStatic();
    this.wire();
    this.templates = new TemplatePicker(this); // v1.6: start from a template
    onLangChange(() => {
      this.renderStatic();
      this.renderVillageList();
      this.renderPreview();
      this.renderModeHelp();
      this.renderReach();
    });
    this.setMode('circle');
  }

  cadreLocked() {
    return this.ctx.member && this.ctx.member.role === 'cadre';
  }

  /** setMember adapts the form to the signed-in role: a cadre alerts its own village only. */
  setMember(member) {
    this.ctx.member = member;
    this.templates.load();
    const cadre = member.role === 'cadre';
    for (const b of document.querySelectorAll('#c-modes button')) b.disabled = cadre && b.dataset.mode !== 'villages';
    if (cadre) {
      this.villages = new Set([member.village_id]);
      this.setMode('villages');
    }
  }

  renderStatic() {
    const keep = new Set([...document.querySelectorAll('#c-roles input:checked')].map((i) => i.value));
    const first = !document.querySelector('#c-roles input');
    $('c-roles').innerHTML = roles
      .map(
        (r) =>
          `<label><input type="checkbox" value="${r}" ${first || keep.has(r) ? 'checked' : ''}> ${esc(t('role.' + r))}</label>`,
      )
      .join('');
    const smsSel = $('c-sms').value || '120';
    $('c-sms').innerHTML = smsChoices
      .map((v) => {
        const label = v === '' ? t('compose.sms.none') : v === '0' ? t('sms.opt.now') : t('sms.opt.after', { t: Number(v) < 60 ? t('dur.sec', { n: v }) : duration(Number(v)) });
        return `<option value="${v}">${esc(label)}</option>`;
      })
      .join('');
    $('c-sms').value = smsSel;
    const expSel = $('c-expires').value || '24';
    $('c-expires').innerHTML = expiryHours
      .map((h) => `<option value="${h}">${esc(h < 48 ? t('exp.h', { n: h }) : t('exp.d', { n: h / 24 }))}</option>`)
      .join('');
    $('c-expires').value = expSel;
    const voiceSel = $('c-voice').value || (this.voiceTouched ? '' : this.voiceDefault());
    $('c-voice').innerHTML = voiceChoices
      .map((v) => `<option value="${v}">${esc(v === '' ? t('voice.opt.off') : t('voice.opt.after', { t: longDuration(Number(v)) }))}</option>`)
      .join('');
    $('c-voice').value = voiceSel;
    this.renderVoiceHelp();
    $('c-expires-label').textContent = t('compose.expires');
    this.renderSMSHelp();
  }

  renderSMSHelp() {
    const v = $('c-sms').value;
    $('c-sms-help').textContent = v === '' ? '' : v === '0' ? t('compose.sms.help0') : t('compose.sms.now', { n: v });
  }

  /** voiceDefault is the voice choice for the severity: the hub calls by default for extreme alerts only. */
  voiceDefault() {
    return $('c-severity').value === 'extreme' ? voiceDefaultExtreme : '';
  }

  renderVoiceHelp() {
    const noSMS = $('c-sms').value === '';
    $('c-voice').disabled = noSMS;
    const v = $('c-voice').value;
    $('c-voice-help').textContent = noSMS ? (v !== '' ? t('compose.voice.nosms') : '') : v === '' ? '' : t('compose.voice.help', { t: longDuration(Number(v)) });
  }

  wire() {
    for (const b of document.querySelectorAll('#c-modes button')) b.onclick = () => this.setMode(b.dataset.mode);
    $('c-roles').onchange = () => this.changed();
    $('c-sms').onchange = () => {
      this.renderSMSHelp();
      this.renderVoiceHelp();
      this.changed();
    };
    $('c-voice').onchange = () => {
      this.voiceTouched = true;
      this.renderVoiceHelp();
    };
    $('c-severity').onchange = () => {
      if (!this.voiceTouched) $('c-voice').value = this.voiceDefault();
      this.renderVoiceHelp();
      this.changed();
    };
    $('c-kind').onchange = () => {
      // A mobilization asks responders to come: patrols by default.
      if ($('c-kind').value === 'mobilization') {
        for (const i of document.querySelectorAll('#c-roles input')) i.checked = i.value === 'patrol';
        if (!this.cadreLocked()) this.setMode('reach');
      }
      this.changed();
    };
    $('c-radius').onchange = () => this.drawer.setRadius(Number($('c-radius').value));
    $('c-poly-done').onclick = () => this.drawer.finishPolygon();
    $('c-poly-undo').onclick = () => this.drawer.undo();
    const reach = () => this.drawer.setReach(Math.min(180, Math.max(1, Number($('c-reach-min').value) || 15)), $('c-reach-mode').value);
    $('c-reach-min').onchange = reach;
    $('c-reach-mode').onchange = reach;
    $('c-village-search').oninput = () => this.renderVillageList();
    $('c-village-list').onchange = (e) => {
      if (e.target.matches('input[type=checkbox]')) this.toggleVillage(e.target.value, e.target.checked);
    };
    $('c-clear').onclick = () => {
      if (this.mode === 'villages') {
        if (!this.cadreLocked()) this.villages.clear();
        this.renderVillageList();
        this.changed();
      } else this.drawer.clear();
    };
    $('compose').onsubmit = (e) => {
      e.preventDefault();
      this.send();
    };
  }

  setMode(mode) {
    this.mode = mode;
    for (const b of document.querySelectorAll('#c-modes button')) b.classList.toggle('active', b.dataset.mode === mode);
    $('c-circle-opts').hidden = mode !== 'circle';
    $('c-polygon-opts').hidden = mode !== 'polygon';
    $('c-reach-opts').hidden = mode !== 'reach';
    $('c-villages-opts').hidden = mode !== 'villages';
    this.renderModeHelp();
    this.renderVillageList();
    this.renderReach();
    this.ctx.cmap.setSelectedVillages(mode === 'villages' ? [...this.villages] : []);
    this.drawer.setMode(mode === 'villages' ? null : mode);
  }

  renderModeHelp() {
    $('c-area-help').textContent = this.mode ? t('area.help.' + this.mode) : '';
  }

  toggleVillage(id, on) {
    if (on === undefined) on = !this.villages.has(id);
    if (on) this.villages.add(id);
    else this.villages.delete(id);
    this.renderVillageList();
    this.ctx.cmap.setSelectedVillages([...this.villages]);
    this.changed();
  }

  renderVillageList() {
    const q = $('c-village-search').value.trim().toLowerCase();
    const vs = [...this.ctx.villages.values()].sort((a, b) => (a.township + a.name).localeCompare(b.township + b.name, 'zh-CN'));
    const locked = this.cadreLocked();
    $('c-village-list').innerHTML = vs
      .filter((v) => !q || (v.name + v.township).toLowerCase().includes(q) || this.villages.has(v.id))
      .filter((v) => !locked || v.id === this.ctx.member.village_id)
      .map(
        (v) => `<label data-village-id="${esc(v.id)}"><input type="checkbox" value="${esc(v.id)}" ${this.villages.has(v.id) ? 'checked' : ''} ${locked ? 'disabled' : ''}>
          ${esc(v.name)} <span class="muted">${esc(v.township)}</span></label>`,
      )
      .join('');
  }

  /** area is the API area object, or null. */
  area() {
    if (this.mode === 'villages') return this.villages.size ? { villages: [...this.villages] } : null;
    return this.drawer.area();
  }

  body(area) {
    const b = {
      kind: $('c-kind').value,
      severity: $('c-severity').value,
      title: $('c-title').value.trim(),
      body: $('c-body').value.trim(),
      area,
    };
    const rs = [...document.querySelectorAll('#c-roles input:checked')].map((i) => i.value);
    if (rs.length !== roles.length) b.roles = rs; // all ticked: every role (admins too)
    if ($('c-exercise') && $('c-exercise').checked) b.exercise = true; // v1.6: 演练, staff only
    const sms = $('c-sms').value;
    if (sms !== '') b.sms_fallback_after_s = Number(sms);
    // A call follows the SMS (docs/API.md v1.5): without an SMS there is
    // none to ask for; an extreme alert with an SMS calls after 300 s
    // unless told -1.
    const voice = $('c-voice').value;
    if (sms !== '') {
      if (voice !== '') b.voice_after_s = Number(voice);
      else if (b.severity === 'extreme') b.voice_after_s = -1;
    }
    b.expires_at = new Date(Date.now() + Number($('c-expires').value) * 3600e3).toISOString();
    return b;
  }

  /** changed runs after every change of the area or the audience: a debounced preview. */
  changed() {
    const a = this.area();
    if (this.mode === 'circle' && this.drawer.circle) $('c-radius').value = Math.round(this.drawer.circle.radius);
    this.preview = null;
    this.renderReach();
    clearTimeout(this.timer);
    if (!a) {
      this.ctx.cmap.setPreview([], null);
      this.lastReach = null;
      this.renderReach();
      this.renderPreview();
      return;
    }
    this.previewLoading = true;
    this.renderPreview();
    this.timer = setTimeout(() => this.runPreview(), 300);
  }

  async runPreview() {
    const a = this.area();
    if (!a) return;
    const body = this.body(a);
    if (!body.title) body.title = 'preview';
    if (body.roles && !body.roles.length) {
      this.previewLoading = false;
      this.preview = { targeted: 0, connected: 0 };
      this.renderPreview();
      return;
    }
    const seq = ++this.previewSeq;
    try {
      const p = await this.ctx.api.post('/api/v1/alerts/preview', body);
      if (seq !== this.previewSeq) return;
      this.preview = previewOf(p);
      this.previewError = null;
      const net = p.reach && p.reach.method === 'network' && p.outline;
      this.ctx.cmap.setPreview(p.cells, net ? p.outline : null);
      // The circle the drawer shows is the straight-line estimate: hide it under an isochrone.
      this.drawer.setReachCircle(!net);
      this.lastReach = p.reach || null;
      this.renderReach();
    } catch (e) {
      if (seq !== this.previewSeq) return;
      this.previewError = e.message;
    }
    this.previewLoading = false;
    this.renderPreview();
  }

  /**
   * renderReach describes the reach: its straight-line radius, or that it
   * follows the network; the note when the hub fell back to a circle; and
   * how many were counted by each travel mode.
   */
  renderReach() {
    const note = $('c-reach-note');
    const by = $('c-reach-bymode');
    if (this.mode !== 'reach') {
      note.hidden = true;
      by.hidden = true;
      return;
    }
    const { minutes, mode } = this.drawer.reach;
    const rr = this.lastReach;
    const net = rr && rr.method === 'network';
    if (net) $('c-reach-desc').textContent = t('area.reach.net', { mode: t('mode.' + mode), n: minutes });
    else {
      const r = reachRadiusM(minutes, mode);
      $('c-reach-desc').textContent = t('area.reach.of', { mode: t('mode.' + mode), n: minutes, r: r >= 1000 ? (r / 1000).toFixed(1) + ' km' : Math.round(r) + ' m' });
    }
    const fb = rr && rr.method === 'circle' ? rr.fallback || 'no_network' : '';
    note.hidden = !fb;
    note.textContent = fb ? t('reach.fallback.' + (fb === 'outside_network' ? 'outside_network' : 'no_network')) : '';
    const counts = rr && rr.by_mode ? Object.entries(rr.by_mode).filter(([, n]) => n > 0) : [];
    by.hidden = !counts.length;
    by.innerHTML = counts.length
      ? esc(t('reach.bymode', { list: '\u0000' })).replace('\u0000', counts.map(([m, n]) => `<span class="bymode" data-mode="${esc(m)}">${esc(t('mode.' + m))} <b>${n}</b></span>`).join(' · '))
      : '';
  }

  renderPreview() {
    const extra = $('c-preview-extra');
    const text = this.preview && !this.previewError && this.area() ? extraText(this.preview) : '';
    extra.hidden = !text;
    extra.textContent = text;
    const el = $('c-preview');
    el.classList.remove('error');
    if (!this.area()) el.textContent = t('preview.none');
    else if (this.previewError) {
      el.textContent = t('common.error', { msg: this.previewError });
      el.classList.add('error');
    } else if (!this.preview) el.textContent = t('preview.loading');
    else el.innerHTML = esc(t('preview.count', { n: '\u0000', m: '\u0001' })).replace('\u0000', `<b id="c-targeted">${this.preview.targeted}</b>`).replace('\u0001', `<b id="c-connected">${this.preview.connected}</b>`);
  }

  async send() {
    const area = this.area();
    if (!area) return toast(t('preview.none'), 'error');
    const body = this.body(area);
    if (!body.title) {
      $('c-title').focus();
      return toast(t('compose.need.title'), 'error');
    }
    if (body.roles && !body.roles.length) return toast(t('compose.need.roles'), 'error');
    let p;
    try {
      p = await this.ctx.api.post('/api/v1/alerts/preview', body);
    } catch (e) {
      return toast(t('common.error', { msg: e.message }), 'error');
    }
    this.preview = previewOf(p);
    this.renderPreview();
    const extra = extraText(this.preview);
    const ok = await confirmModal(
      t('confirm.title'),
      `${body.title}\n${t('confirm.body', { n: p.targeted, m: p.connected })}${extra ? '\n' + t('confirm.extra', { text: extra }) : ''}`,
      t('confirm.send'),
    );
    if (!ok) return;
    $('c-send').disabled = true;
    try {
      const res = await this.ctx.api.post('/api/v1/alerts', body);
      const sentExtra = extraText({ approximate: res.approximate, no_phone: res.no_phone });
      toast(t('compose.sent', { n: res.targeted, m: res.connected }) + (sentExtra ? t('compose.sent.extra', { text: sentExtra }) : ''), 'ok', 6000);
      $('c-title').value = '';
      $('c-body').value = '';
      if (this.mode === 'villages') {
        if (!this.cadreLocked()) this.villages.clear();
        this.renderVillageList();
        this.ctx.cmap.setSelectedVillages([...this.villages]);
      }
      this.drawer.clear();
      this.ctx.onSent(res.alert);
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error', 6000);
    } finally {
      $('c-send').disabled = false;
    }
  }
}

/** previewOf keeps what the page shows of a preview answer. */
function previewOf(p) {
  return { targeted: p.targeted, connected: p.connected, reach: p.reach || null, approximate: p.approximate, no_phone: p.no_phone, sms: p.sms || null, voice: p.voice || null };
}

/**
 * extraText is the preview's second line (issue 12): "其中 12 人位置为村中心估计，
 * 8 人无手机；短信预计 3小时20分 发完", each part only when it says something.
 */
function extraText(p) {
  const of = [];
  if (p.approximate) of.push(t('preview.approx', { n: p.approximate }));
  if (p.no_phone) of.push(t('preview.nophone', { n: p.no_phone }));
  const parts = [];
  if (of.length) parts.push(t('preview.of', { list: of.join(t('preview.list.sep')) }));
  if (p.sms && p.sms.messages > 0 && typeof p.sms.eta_s === 'number') parts.push(t('preview.sms.eta', { t: longDuration(p.sms.eta_s) }));
  if (p.voice && p.voice.eta_s > 0) parts.push(t('preview.voice.eta', { t: longDuration(p.voice.eta_s) }));
  return parts.join(t('preview.sep'));
}
