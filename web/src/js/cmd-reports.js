// cmd-reports: live hazard reports. `report` events on the WebSocket add
// and update them; each shows its photo, kind, text, place, age and due
// time, and the commander moves its status forward and writes the public
// feedback the reporter sees (PATCH /api/v1/reports/{id}).
//
// The list is paged (docs/API.md v1.4): the unhandled reports (new,
// accepted, in progress) oldest first, a page at a time with "load more",
// then (under "all") the handled ones newest first. Oldest first, a flood
// of newer reports can never push an old unhandled one out of view: a
// report that arrives live joins the list once every older unhandled one
// is loaded (until then "load more" counts it).
//
// Handling (docs/API.md v1.6): each card shows its assignee, its level
// (township or county once escalated) and 超时 in red once overdue; the
// commander assigns it to one of its village's cadres and opens its
// history (GET /api/v1/reports/{id}/history). `report_update` events
// update it like `report` events; `notice` reminders are shown as toasts.

import { t, onLangChange, ago, clock, duration, meters } from './i18n.js';
import { esc, toast } from './api.js';
import { historyText } from './report-handling.js';
import { boardExtras, onRectifyInput } from './cmd-board.js';

const $ = (id) => document.getElementById(id);
const open = new Set(['new', 'accepted', 'in_progress']);
const pageSize = 100;
const openQuery = '/api/v1/reports?status=new,accepted,in_progress&order=oldest&limit=' + pageSize;
const handledQuery = '/api/v1/reports?status=resolved,rejected&limit=' + pageSize;
// Statuses move forward only (README): the choices offered from each.
const next = {
  new: ['new', 'accepted', 'in_progress', 'resolved', 'rejected'],
  accepted: ['accepted', 'in_progress', 'resolved', 'rejected'],
  in_progress: ['in_progress', 'resolved', 'rejected'],
  resolved: ['resolved'],
  rejected: ['rejected'],
};

export class Reports {
  constructor(ctx) {
    this.ctx = ctx; // {api, cmap, villages, onBadge}
    this.reports = new Map();
    this.members = new Map(); // member id -> {name, phone} (or a pending promise)
    this.listed = new Set(); // ids in the list (from its pages, or live once the unhandled pages are all loaded)
    this.pages = { open: { next: null, done: false }, handled: { next: null, done: false } };
    this.filter = 'open';
    this.fresh = new Set(); // arrived since the tab was last looked at
    this.staff = new Map(); // village id -> [{id, name}] its cadres (or a pending promise)
    this.history = new Map(); // report id -> history entries, while shown
    onLangChange(() => this.render());
    setInterval(() => this.render(), 30000); // ages and due times
    $('r-filter').onclick = (e) => {
      const b = e.target.closest('button[data-filter]');
      if (!b) return;
      this.filter = b.dataset.filter;
      for (const x of $('r-filter').querySelectorAll('button')) x.classList.toggle('active', x === b);
      this.render();
    };
    $('reports').onclick = (e) => this.onClick(e);
    $('reports').addEventListener('change', (e) => onRectifyInput(e, this)); // the board's "after" photos (v1.6)
  }

  /** load reads the first page of the unhandled and of the handled reports (again after a reconnect). */
  async load() {
    try {
      const [o, h] = await Promise.all([this.ctx.api.get(openQuery), this.ctx.api.get(handledQuery)]);
      this.listed.clear();
      this.take('open', o);
      this.take('handled', h);
    } catch {
      return;
    }
    this.render();
  }

  /** take adds a page of a list and remembers where the list goes on. */
  take(list, page) {
    for (const r of page.reports) {
      this.reports.set(r.id, r);
      this.listed.add(r.id);
    }
    this.pages[list] = { next: page.next_before || null, done: !page.next_before };
    if (list === 'open' && this.pages.open.done) {
      // Every unhandled report is loaded: those that arrived live meanwhile join in their place.
      for (const r of this.reports.values()) if (open.has(r.status)) this.listed.add(r.id);
    }
  }

  /** more loads the next page of a list ("load more"). */
  async more(list) {
    const p = this.pages[list];
    if (!p.next || p.loading) return;
    p.loading = true;
    try {
      const q = (list === 'open' ? openQuery : handledQuery) + '&before=' + encodeURIComponent(p.next);
      this.take(list, await this.ctx.api.get(q));
    } catch (err) {
      p.loading = false;
      toast(t('common.error', { msg: err.message }), 'error');
      return;
    }
    this.render();
  }

  /** onEvent handles a `report` or `report_update` event (new or changed). */
  onEvent(r) {
    const old = this.reports.get(r.id);
    // Both events come for one change: keep the newest.
    if (old && old.updated_at && r.updated_at && Date.parse(r.updated_at) < Date.parse(old.updated_at)) return;
    const isNew = !old;
    if (this.history.has(r.id)) this.loadHistory(r.id);
    this.reports.set(r.id, r);
    // A new report joins the list unless older unhandled ones are still to load.
    if (isNew && (!open.has(r.status) || this.pages.open.done)) this.listed.add(r.id);
    if (isNew) {
      this.fresh.add(r.id);
      toast(t('reports.new', { kind: t('rk.' + r.kind) }), 'warn', 5000);
    }
    this.render();
  }

  /** onNotice shows a reminder (`notice` event) about a report. */
  onNotice(n) {
    if (!n || !n.ref || n.ref.type !== 'report') return;
    const key = n.kind === 'report_escalated' ? 'reports.notice.escalated.' + (n.level || 'township') : 'reports.notice.overdue';
    toast(t(key), 'warn', 8000);
  }

  /** staffOf is the cadres of a village, for the assign control (loaded once). */
  staffOf(villageID) {
    const s = this.staff.get(villageID);
    if (Array.isArray(s)) return s;
    if (!s && villageID) {
      this.staff.set(villageID, 'loading');
      this.ctx.api
        .get('/api/v1/members?role=cadre&village_id=' + encodeURIComponent(villageID))
        .then((d) => {
          this.staff.set(villageID, (d.members || []).map((m) => ({ id: m.id, name: m.name })));
          this.render();
        })
        .catch(() => this.staff.set(villageID, []));
    }
    return [];
  }

  async loadHistory(id) {
    try {
      const d = await this.ctx.api.get('/api/v1/reports/' + encodeURIComponent(id) + '/history');
      this.history.set(id, d.history || []);
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
      return;
    }
    this.render();
  }

  historyHTML(id) {
    const hs = this.history.get(id);
    if (!hs) return '';
    const who = (a) => {
      if (a === 'system') return t('history.system');
      const m = this.memberLabel(a);
      return m ? m.name : a;
    };
    const rows = hs
      .map((h) => `<li><span class="muted">${esc(clock(h.at))}</span> ${esc(who(h.actor))} · ${esc(historyText(h, (x) => who(x)))}</li>`)
      .join('');
    return `<ol class="r-history">${rows}</ol>`;
  }

  seen() {
    this.fresh.clear();
    this.badge();
  }

  memberLabel(id) {
    const m = this.members.get(id);
    if (m && m.name) return m;
    if (!m) {
      this.members.set(id, { loading: true });
      this.ctx.api
        .get('/api/v1/members/' + encodeURIComponent(id))
        .then((d) => {
          this.members.set(id, { name: d.member.name, phone: d.member.phone });
          this.render();
        })
        .catch(() => this.members.set(id, { name: '', phone: '' }));
    }
    return null;
  }

  /** sorted is what the list shows: the unhandled oldest first, then (under "all") the handled newest first. */
  sorted() {
    const byAge = (a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id);
    const listed = [...this.listed].map((id) => this.reports.get(id)).filter(Boolean);
    const unhandled = listed.filter((r) => open.has(r.status)).sort(byAge);
    const handled = this.filter === 'all' ? listed.filter((r) => !open.has(r.status)).sort((a, b) => byAge(b, a)) : [];
    return { unhandled, handled };
  }

  /** moreButton is the "load more" of a list, or null when it is all loaded. */
  moreButton(list) {
    const p = this.pages[list];
    if (p.done) return null;
    let waiting = 0;
    if (list === 'open') for (const r of this.reports.values()) if (open.has(r.status) && !this.listed.has(r.id)) waiting++;
    const tpl = document.createElement('template');
    tpl.innerHTML = `<button type="button" class="btn btn-small r-more" data-more="${list}">${esc(t('reports.more'))}${waiting ? ' · ' + esc(t('reports.more.waiting', { n: waiting })) : ''}</button>`;
    return tpl.content.firstElementChild;
  }

  dueText(r) {
    if (!open.has(r.status)) return '';
    const left = (Date.parse(r.due_at) - Date.now()) / 1000;
    return left >= 0 ? t('due.left', { t: duration(left) }) : t('due.over', { t: duration(-left) });
  }

  /**
   * placeText is where a report is, in words: its village, the nearest
   * named road, river or place and how far from it ("约 300 m"), from the
   * report's place (docs/API.md v1.3), else the village the page knows.
   */
  placeText(r) {
    const p = r.place || {};
    const v = this.ctx.villages.get(r.village_id);
    const parts = [p.village || (v ? v.name : '')];
    if (p.name) {
      parts.push(p.name);
      if (Number.isFinite(p.dist_m) && p.dist_m >= 10) parts.push(t('place.dist', { d: meters(p.dist_m) }));
    }
    return parts.filter(Boolean).join(' · ');
  }

  popup(r) {
    const photo = r.photos && r.photos.length ? `<img class="popup-photo" src="${esc(this.ctx.api.mediaURL(r.photos[0]))}" alt="">` : '';
    return `<div class="popup"><b>${esc(t('rk.' + r.kind))}</b> · ${esc(t('rs.' + r.status))}<br>${esc(r.text)}${photo}
      <div class="muted">${esc(this.placeText(r))}</div>
      <div class="muted">${esc(clock(r.created_at))}</div></div>`;
  }

  render() {
    for (const r of this.reports.values()) this.ctx.cmap.upsertReport(r, this.popup(r));
    const box = $('reports');
    const { unhandled, handled } = this.sorted();
    // Keep what the commander is typing: do not re-render a card being edited.
    // (A focused link, such as the history's, is not an edit.)
    const active = document.activeElement;
    const editing = box.contains(active) && active.matches('textarea, select, input') ? active.closest('[data-report-id]') : null;
    const editingID = editing && editing.dataset.reportId;
    const cardOf = (r) => {
      if (r.id === editingID) return editing;
      const tpl = document.createElement('template');
      tpl.innerHTML = this.card(r).trim();
      return tpl.content.firstElementChild;
    };
    const nodes = unhandled.map(cardOf);
    const moreOpen = this.moreButton('open');
    if (moreOpen) nodes.push(moreOpen);
    if (this.filter === 'all' && (handled.length || !this.pages.handled.done)) {
      const h = document.createElement('h3');
      h.className = 'r-section';
      h.textContent = t('reports.handled');
      nodes.push(h, ...handled.map(cardOf));
      const moreHandled = this.moreButton('handled');
      if (moreHandled) nodes.push(moreHandled);
    }
    if (!nodes.length) {
      box.innerHTML = `<div class="empty">${esc(t('reports.empty'))}</div>`;
      this.badge();
      return;
    }
    box.replaceChildren(...nodes);
    this.badge();
  }

  card(r) {
    const m = this.memberLabel(r.member_id);
    const overdue = r.overdue || (open.has(r.status) && Date.parse(r.due_at) < Date.now());
    const assignee = r.assignee_id ? this.memberLabel(r.assignee_id) : null;
    const staff = this.staffOf(r.village_id);
    const choices = [{ id: '', name: t('reports.unassigned') }, ...staff];
    if (r.assignee_id && !staff.some((x) => x.id === r.assignee_id)) choices.push({ id: r.assignee_id, name: assignee ? assignee.name : r.assignee_id });
    const assignOptions = choices.map((x) => `<option value="${esc(x.id)}" ${x.id === (r.assignee_id || '') ? 'selected' : ''}>${esc(x.name)}</option>`).join('');
    const level = r.level && r.level !== 'village' ? `<span class="chip chip-level chip-level-${esc(r.level)}">${esc(t('level.' + r.level))}</span>` : '';
    const overdueChip = r.overdue ? `<span class="chip chip-overdue">${esc(t('reports.overdue'))}</span>` : '';
    const photos = (r.photos || [])
      .map((id) => `<a href="${esc(this.ctx.api.mediaURL(id))}" target="_blank" rel="noopener noreferrer"><img class="rphoto" src="${esc(this.ctx.api.mediaURL(id))}" alt="${esc(t('reports.photo'))}" loading="lazy"></a>`)
      .join('');
    const options = next[r.status].map((s) => `<option value="${s}" ${s === r.status ? 'selected' : ''}>${esc(t('rs.' + s))}</option>`).join('');
    return `<article class="rcard status-${esc(r.status)}${this.fresh.has(r.id) ? ' fresh' : ''}" data-report-id="${esc(r.id)}">
      <div class="rcard-head">
        <span class="chip chip-kind">${esc(t('rk.' + r.kind))}</span>
        <span class="chip chip-status chip-${esc(r.status)}">${esc(t('rs.' + r.status))}</span>
        ${level}${overdueChip}
        <span class="muted"><span class="rplace">${esc(this.placeText(r))}</span> · ${esc(ago(r.created_at))}</span>
        ${open.has(r.status) ? `<span class="due${overdue ? ' overdue' : ''}" title="${esc(t('reports.due'))} ${esc(clock(r.due_at))}">${esc(this.dueText(r))}</span>` : ''}
      </div>
      <div class="rcard-body">
        ${photos ? `<div class="rphotos">${photos}</div>` : ''}
        <div>
          ${r.text ? `<p class="rtext">${esc(r.text)}</p>` : ''}
          <div class="muted small">${m ? `${esc(m.name)} <a href="tel:${esc(m.phone || '')}">${esc(m.phone || '')}</a> · ` : ''}<a href="#" class="rpos">${r.lat.toFixed(4)}, ${r.lng.toFixed(4)}</a></div>
          <div class="muted small r-assignee-line">${esc(t('reports.assignee'))}：${esc(r.assignee_id ? (assignee ? assignee.name : r.assignee_id) : t('reports.unassigned'))}
            · <a href="#" class="r-history-toggle">${esc(t(this.history.has(r.id) ? 'reports.history.hide' : 'reports.history'))}</a></div>
          ${this.historyHTML(r.id)}
        </div>
      </div>
      ${boardExtras(r, this.ctx.api)}
      <div class="rcard-edit">
        <label>${esc(t('reports.status'))} <select class="r-status" ${next[r.status].length === 1 ? 'disabled' : ''}>${options}</select></label>
        <label>${esc(t('reports.assignee'))} <select class="r-assignee" ${open.has(r.status) ? '' : 'disabled'}>${assignOptions}</select></label>
        <textarea class="r-feedback" rows="2" maxlength="2000" placeholder="${esc(t('reports.feedback.ph'))}" aria-label="${esc(t('reports.feedback'))}">${esc(r.feedback)}</textarea>
        <button type="button" class="btn btn-small btn-primary" data-act="save">${esc(t('common.save'))}</button>
      </div>
    </article>`;
  }

  async onClick(e) {
    const m = e.target.closest('button[data-more]');
    if (m) {
      m.disabled = true;
      this.more(m.dataset.more);
      return;
    }
    const card = e.target.closest('[data-report-id]');
    if (!card) return;
    const id = card.dataset.reportId;
    if (e.target.closest('a.rpos')) {
      e.preventDefault();
      this.ctx.cmap.focusReport(id);
      return;
    }
    if (e.target.closest('a.r-history-toggle')) {
      e.preventDefault();
      if (this.history.has(id)) {
        this.history.delete(id);
        this.render();
      } else {
        this.loadHistory(id);
      }
      return;
    }
    const b = e.target.closest('button[data-act="save"]');
    if (!b) return;
    const r = this.reports.get(id);
    const status = card.querySelector('.r-status').value;
    const feedback = card.querySelector('.r-feedback').value.trim();
    const patch = {};
    if (status !== r.status) patch.status = status;
    if (feedback !== r.feedback) patch.feedback = feedback;
    const assigneeSel = card.querySelector('.r-assignee');
    if (assigneeSel && !assigneeSel.disabled && assigneeSel.value !== (r.assignee_id || '')) patch.assignee_id = assigneeSel.value;
    if (!Object.keys(patch).length) return;
    b.disabled = true;
    try {
      const { report } = await this.ctx.api.patch('/api/v1/reports/' + encodeURIComponent(id), patch);
      this.reports.set(report.id, report);
      this.fresh.delete(report.id);
      if (this.history.has(report.id)) this.loadHistory(report.id);
      document.activeElement && document.activeElement.blur();
      toast(t('common.saved'), 'ok');
      this.render();
    } catch (err) {
      b.disabled = false;
      toast(t('common.error', { msg: err.message }), 'error');
    }
  }

  badge() {
    const n = [...this.reports.values()].filter((r) => r.status === 'new').length;
    this.ctx.onBadge(n);
  }
}

