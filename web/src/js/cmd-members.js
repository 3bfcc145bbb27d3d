// cmd-members: the 成员 (members) panel. A page at a time of the county's
// members (GET /api/v1/members, paged), searched by name, phone or address
// and filtered by village, active and "not signed in yet"; each row says
// when its home is only the village centre (位置为村中心（近似）) and when
// its member never signed in (未登录). A row opens an edit dialog (name,
// phone, village, address, role where the signed-in member may, SMS
// language, travel mode; deactivate or reactivate; revoke its tokens) and
// sends it a sign-in invitation. The toolbar invites a whole village or
// everyone not signed in yet (docs/API.md v1.5, issue 12).

import { t, onLangChange } from './i18n.js';
import { esc, toast } from './api.js';
import { confirmModal } from './cmd-modal.js';
import { nextPage, villageName, sortedVillages } from './cmd-util.js';

const $ = (id) => document.getElementById(id);
const pageSize = 100;
const countPages = 20; // "invite everyone not signed in" counts at most this many pages of 500
const modes = ['walk', 'bike', 'motorbike', 'drive'];

export class Members {
  constructor(ctx) {
    this.ctx = ctx; // {api, villages: Map, member}
    this.list = [];
    this.next = '';
    this.total = null;
    this.seq = 0;
    // clock orders reads and edits; edits keeps each member edited here
    // (at: the clock then), so a read begun before an edit never undoes it.
    this.clock = 0;
    this.edits = new Map();
    this.loaded = false;
    this.loading = false;
    this.editing = null;
    this.timer = null;
    this.wire();
    this.renderFilters();
    onLangChange(() => {
      this.renderFilters();
      this.render();
      this.renderInvite();
      if (this.editing) this.fillEdit(this.editing);
    });
  }

  get role() {
    return this.ctx.member ? this.ctx.member.role : '';
  }

  cadre() {
    return this.role === 'cadre';
  }

  /** setMember adapts the panel to the signed-in member: a cadre sees its own village only. */
  setMember(member) {
    this.ctx.member = member;
    this.renderFilters();
    this.renderInvite();
    if (this.loaded) this.load();
  }

  /** show runs when the tab opens: the first load. */
  show() {
    if (!this.loaded) this.load();
  }

  wire() {
    $('mem-q').oninput = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), 300);
    };
    $('mem-village').onchange = () => {
      this.renderInvite();
      this.load();
    };
    $('mem-active').onchange = () => this.load();
    $('mem-unsigned').onchange = () => this.load();
    $('mem-more').onclick = () => this.load(true);
    $('mem-list').onclick = (e) => this.onClick(e);
    $('inv-village').onclick = () => this.inviteVillage();
    $('inv-unsigned').onclick = () => this.inviteUnsigned();
    $('medit-form').onsubmit = (e) => {
      e.preventDefault();
      this.save();
    };
    $('me-cancel').onclick = () => this.closeEdit();
    $('me-active').onclick = () => this.toggleActive();
    $('me-revoke').onclick = () => this.revoke();
    addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.editing && $('modal').hidden) this.closeEdit();
    });
  }

  /** renderFilters fills the village filter (a cadre's: its village alone). */
  renderFilters() {
    const sel = $('mem-village');
    const cur = sel.value;
    const cadre = this.cadre();
    const own = this.ctx.member && this.ctx.member.village_id;
    sel.innerHTML =
      (cadre ? '' : `<option value="">${esc(t('mem.village.all'))}</option>`) +
      sortedVillages(this.ctx.villages)
        .filter((v) => !cadre || v.id === own)
        .map((v) => `<option value="${esc(v.id)}">${esc(v.name)}${v.township ? '（' + esc(v.township) + '）' : ''}</option>`)
        .join('');
    if ([...sel.options].some((o) => o.value === cur)) sel.value = cur;
    sel.disabled = cadre;
  }

  /** villagesChanged runs after a village import: the filter and the edit dialog offer the new ones. */
  villagesChanged() {
    this.renderFilters();
  }

  query() {
    const q = new URLSearchParams();
    const text = $('mem-q').value.trim();
    if (text) q.set('q', text);
    const v = $('mem-village').value || (this.cadre() ? this.ctx.member.village_id : '');
    if (v) q.set('village_id', v);
    const active = $('mem-active').value;
    if (active) q.set('active', active);
    if ($('mem-unsigned').checked) q.set('signed_in', 'false');
    q.set('limit', String(pageSize));
    return q.toString();
  }

  /** load reads the first page for the filters, or (more) the next one. */
  async load(more = false) {
    if (more && !this.next) return;
    const seq = ++this.seq;
    const started = ++this.clock;
    const path = '/api/v1/members?' + this.query() + (more ? '&' + this.next : '');
    this.loading = true;
    $('mem-more').disabled = true;
    if (!more) $('mem-count').textContent = t('common.loading');
    let res;
    try {
      res = await this.ctx.api.get(path);
    } catch (e) {
      if (seq !== this.seq) return;
      this.loading = false;
      $('mem-more').disabled = false;
      $('mem-count').textContent = t('common.error', { msg: e.message });
      return;
    }
    if (seq !== this.seq) return;
    this.loading = false;
    this.loaded = true;
    // A member edited here after this read began is shown as edited: the
    // read may have been answered from before the edit.
    const rows = (res.members || []).map((m) => {
      const e = this.edits.get(m.id);
      return e && e.at > started ? { ...m, ...e.m } : m;
    });
    this.list = more ? this.list.concat(rows.filter((m) => !this.list.some((x) => x.id === m.id))) : rows;
    this.next = nextPage(res);
    this.total = typeof res.total === 'number' ? res.total : null;
    this.render();
  }

  render() {
    const box = $('mem-list');
    box.innerHTML = this.list.length ? this.list.map((m) => this.rowHTML(m)).join('') : `<div class="empty">${esc(t('mem.empty'))}</div>`;
    const n = this.list.length;
    $('mem-count').textContent =
      this.total !== null ? t('mem.count.total', { total: this.total, n }) : this.next ? t('mem.count.more', { n }) : t('mem.count', { n });
    $('mem-more').hidden = !this.next;
    $('mem-more').disabled = false;
  }

  /** chips are a member's marks: deactivated, not signed in, approximate home, no phone. */
  chips(m) {
    const out = [];
    if (m.active === false) out.push(`<span class="chip chip-inactive">${esc(t('mem.inactive.chip'))}</span>`);
    if (m.signed_in === false) out.push(`<span class="chip chip-unsigned">${esc(t('mem.unsigned.chip'))}</span>`);
    if (m.home_approximate) out.push(`<span class="chip chip-approx">${esc(t('mem.approx'))}</span>`);
    if (!m.phone) out.push(`<span class="chip chip-nophone">${esc(t('mem.nophone'))}</span>`);
    return out.join(' ');
  }

  rowHTML(m) {
    const place = [villageName(this.ctx.villages, m.village_id), m.address].filter(Boolean).join(' · ');
    const canInvite = m.active !== false && !!m.phone;
    return `<div class="mrow${m.active === false ? ' inactive' : ''}" data-member-id="${esc(m.id)}">
      <div class="mrow-main">
        <div><b class="name">${esc(m.name)}</b> <span class="chip chip-role">${esc(t('role.' + m.role))}</span>
          ${m.phone ? `<span class="phone">${esc(m.phone)}</span>` : ''}</div>
        ${place ? `<div class="place small">${esc(place)}</div>` : ''}
        <div class="mrow-chips">${this.chips(m)}</div>
      </div>
      <div class="mrow-act">
        <button type="button" class="btn btn-small" data-act="edit">${esc(t('mem.edit'))}</button>
        <button type="button" class="btn btn-small" data-act="invite" ${canInvite ? '' : 'disabled'}>${esc(t('mem.invite'))}</button>
      </div>
    </div>`;
  }

  onClick(e) {
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const id = b.closest('[data-member-id]').dataset.memberId;
    const m = this.list.find((x) => x.id === id);
    if (!m) return;
    if (b.dataset.act === 'edit') this.openEdit(m);
    else if (b.dataset.act === 'invite') this.inviteOne(m);
  }

  /** replace puts a member's new record into the list and redraws its row. */
  replace(m) {
    this.edits.set(m.id, { at: ++this.clock, m });
    const i = this.list.findIndex((x) => x.id === m.id);
    if (i < 0) return;
    this.list[i] = { ...this.list[i], ...m };
    const row = $('mem-list').querySelector(`[data-member-id="${CSS.escape(m.id)}"]`);
    if (row) row.outerHTML = this.rowHTML(this.list[i]);
  }

  // The edit dialog.

  /**
   * roleChoices are the roles the signed-in member may give (docs/API.md
   * v1.5): an admin any; a commander residents, patrols and cadres, and
   * only to one of those; a cadre none.
   */
  roleChoices(m) {
    const r = this.role;
    const all = r === 'admin' ? ['resident', 'patrol', 'cadre', 'commander', 'admin'] : r === 'commander' ? ['resident', 'patrol', 'cadre'] : [];
    const may = all.includes(m.role) ? all : [];
    return { list: may.length ? may : [m.role], locked: !may.length };
  }

  openEdit(m) {
    this.editing = m;
    this.fillEdit(m);
    $('me-error').hidden = true;
    $('medit').hidden = false;
    $('me-name').focus();
  }

  fillEdit(m) {
    $('me-name').value = m.name || '';
    $('me-phone').value = m.phone || '';
    $('me-address').value = m.address || '';
    const cadre = this.cadre();
    $('me-village').innerHTML = sortedVillages(this.ctx.villages)
      .filter((v) => !cadre || v.id === this.ctx.member.village_id || v.id === m.village_id)
      .map((v) => `<option value="${esc(v.id)}">${esc(v.name)}${v.township ? '（' + esc(v.township) + '）' : ''}</option>`)
      .join('');
    if (m.village_id && !this.ctx.villages.has(m.village_id)) $('me-village').insertAdjacentHTML('afterbegin', `<option value="${esc(m.village_id)}">${esc(m.village_id)}</option>`);
    $('me-village').value = m.village_id || '';
    $('me-village').disabled = cadre;
    const roles = this.roleChoices(m);
    $('me-role').innerHTML = roles.list.map((r) => `<option value="${r}">${esc(t('role.' + r))}</option>`).join('');
    $('me-role').value = m.role;
    $('me-role').disabled = roles.locked;
    $('me-lang').innerHTML = [
      ['', t('mem.lang.default')],
      ['zh-CN', '中文'],
      ['en', 'English'],
    ]
      .map(([v, l]) => `<option value="${v}">${esc(l)}</option>`)
      .join('');
    $('me-lang').value = m.lang || '';
    $('me-travel').innerHTML = [['', t('mode.none')], ...modes.map((x) => [x, t('mode.' + x)])].map(([v, l]) => `<option value="${v}">${esc(l)}</option>`).join('');
    $('me-travel').value = m.travel_mode || '';
    const active = m.active !== false;
    $('me-active').textContent = active ? t('mem.deactivate') : t('mem.reactivate');
    $('me-active').className = active ? 'btn btn-danger-outline' : 'btn';
    $('me-active').dataset.active = String(active);
    $('me-revoke').hidden = cadre;
    const home = m.home ? t('mem.home.exact', { lat: m.home.lat.toFixed(5), lng: m.home.lng.toFixed(5) }) : t('mem.home.none');
    $('me-info').innerHTML = esc(t('mem.info', { pos: m.home_approximate ? t('mem.approx') : home })) + (m.signed_in === false ? ` · <span class="chip chip-unsigned">${esc(t('mem.unsigned.chip'))}</span>` : '');
  }

  closeEdit() {
    $('medit').hidden = true;
    this.editing = null;
  }

  editError(msg) {
    $('me-error').hidden = !msg;
    $('me-error').textContent = msg || '';
  }

  /** save sends the fields that changed (PATCH /api/v1/members/{id}). */
  async save() {
    const m = this.editing;
    if (!m) return;
    const name = $('me-name').value.trim();
    if (!name) {
      $('me-name').focus();
      return this.editError(t('mem.need.name'));
    }
    const want = {
      name,
      phone: $('me-phone').value.trim().replace(/[\s-]/g, ''),
      village_id: $('me-village').value,
      role: $('me-role').value,
      address: $('me-address').value.trim(),
      lang: $('me-lang').value,
      travel_mode: $('me-travel').value,
    };
    const body = {};
    for (const [k, v] of Object.entries(want)) if (v !== (m[k] || '') && !(k === 'role' && $('me-role').disabled) && !(k === 'village_id' && !v)) body[k] = v;
    if (!Object.keys(body).length) {
      this.closeEdit();
      toast(t('mem.nochange'));
      return;
    }
    $('me-save').disabled = true;
    try {
      const res = await this.ctx.api.patch('/api/v1/members/' + encodeURIComponent(m.id), body);
      this.replace(res.member);
      this.closeEdit();
      toast(t('mem.saved', { name: res.member.name }), 'ok');
    } catch (e) {
      this.editError(e.status === 409 ? t('mem.phone.taken') : t('common.error', { msg: e.message }));
      if (e.status === 409) $('me-phone').focus();
    } finally {
      $('me-save').disabled = false;
    }
  }

  /** toggleActive deactivates (after a confirmation) or reactivates the member being edited. */
  async toggleActive() {
    const m = this.editing;
    if (!m) return;
    const active = m.active !== false;
    const ok = await confirmModal(
      active ? t('mem.deactivate') : t('mem.reactivate'),
      t(active ? 'mem.deactivate.confirm' : 'mem.reactivate.confirm', { name: m.name }),
      active ? t('mem.deactivate') : t('mem.reactivate'),
    );
    if (!ok) return;
    try {
      const res = await this.ctx.api.patch('/api/v1/members/' + encodeURIComponent(m.id), { active: !active });
      const next = { ...res.member, active: res.member.active ?? !active };
      this.replace(next);
      this.closeEdit();
      toast(t(active ? 'mem.deactivated' : 'mem.reactivated', { name: m.name }), 'ok');
    } catch (e) {
      this.editError(t('common.error', { msg: e.message }));
    }
  }

  /** revoke takes back every token of the member being edited (a lost phone). */
  async revoke() {
    const m = this.editing;
    if (!m) return;
    if (!(await confirmModal(t('mem.revoke'), t('mem.revoke.confirm', { name: m.name }), t('mem.revoke')))) return;
    try {
      const res = await this.ctx.api.post('/api/v1/members/' + encodeURIComponent(m.id) + '/tokens/revoke', {});
      toast(t('mem.revoked', { n: res.revoked ?? 0 }), 'ok');
      try {
        const fresh = (await this.ctx.api.get('/api/v1/members/' + encodeURIComponent(m.id))).member;
        this.replace(fresh);
        if (this.editing && this.editing.id === m.id) {
          this.editing = this.list.find((x) => x.id === m.id) || fresh;
          this.fillEdit(this.editing);
        }
      } catch {
        // the list shows the old marks until the next load
      }
    } catch (e) {
      this.editError(t('common.error', { msg: e.message }));
    }
  }

  // Invitations (POST /api/v1/invitations).

  renderInvite() {
    const v = $('mem-village').value;
    $('inv-village').disabled = !v;
    $('inv-village').title = v ? '' : t('inv.need.village');
    $('inv-unsigned').textContent = v ? t('inv.unsigned.village') : t('inv.unsigned');
  }

  async invite(body) {
    let res;
    try {
      res = await this.ctx.api.post('/api/v1/invitations', body);
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error', 6000);
      return null;
    }
    this.showInviteResult(res);
    return res;
  }

  showInviteResult(res) {
    const parts = [t('inv.result', { n: res.invited ?? 0 })];
    if (res.skipped_no_phone) parts.push(t('inv.result.nophone', { n: res.skipped_no_phone }));
    if (res.skipped_inactive) parts.push(t('inv.result.inactive', { n: res.skipped_inactive }));
    const box = $('inv-result');
    box.hidden = false;
    box.innerHTML = `<span id="inv-invited" data-n="${Number(res.invited) || 0}">${esc(parts[0])}</span>${parts.length > 1 ? esc(t('preview.sep') + parts.slice(1).join(t('preview.list.sep'))) : ''}`;
    toast(parts.join(t('preview.list.sep')), 'ok', 5000);
  }

  async inviteOne(m) {
    if (!(await confirmModal(t('mem.invite'), t('inv.one.confirm', { name: m.name, phone: m.phone }), t('inv.send')))) return;
    await this.invite({ member_ids: [m.id] });
  }

  async inviteVillage() {
    const v = $('mem-village').value;
    if (!v) return toast(t('inv.need.village'), 'error');
    if (!(await confirmModal(t('inv.village'), t('inv.village.confirm', { village: villageName(this.ctx.villages, v) || v }), t('inv.send')))) return;
    await this.invite({ village_id: v });
  }

  /**
   * countUnsigned counts the active members not signed in yet (of a
   * village, or the county), for the confirmation: the list's total when
   * the hub gives one, else by reading pages of 500 up to a cap, when the
   * count becomes "at least".
   */
  async countUnsigned(v) {
    const q = new URLSearchParams({ signed_in: 'false', active: 'true', limit: '500' });
    if (v) q.set('village_id', v);
    let n = 0;
    let next = '';
    for (let i = 0; i < countPages; i++) {
      const res = await this.ctx.api.get('/api/v1/members?' + q.toString() + (next ? '&' + next : ''));
      if (typeof res.total === 'number') return { n: res.total, more: false };
      n += (res.members || []).length;
      next = nextPage(res);
      if (!next) return { n, more: false };
    }
    return { n, more: true };
  }

  async inviteUnsigned() {
    const v = $('mem-village').value || (this.cadre() ? this.ctx.member.village_id : '');
    $('inv-unsigned').disabled = true;
    let count;
    try {
      count = await this.countUnsigned(v);
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
      return;
    } finally {
      $('inv-unsigned').disabled = false;
    }
    if (!count.n) return toast(t('inv.none'));
    const scope = v ? villageName(this.ctx.villages, v) || v : t('inv.scope.county');
    const ok = await confirmModal(t('inv.unsigned'), t(count.more ? 'inv.unsigned.confirm.many' : 'inv.unsigned.confirm', { n: count.n, scope }), t('inv.send'));
    if (!ok) return;
    const body = { not_signed_in: true };
    if (v) body.village_id = v;
    await this.invite(body);
  }
}
