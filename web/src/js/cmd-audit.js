// cmd-audit: the command center's view of the audit trail (issue 14,
// docs/API.md v1.6), for commanders and admins: every change made through
// the hub, newest first, with who, when, from where, what and (for
// changes) before and after; filters by member, action, object and time;
// "more" pages on (next_before); the export downloads the same selection
// as CSV (fetched with the bearer header: the token never goes in a URL).

import { t, onLangChange } from './i18n.js';
import { esc, toast } from './api.js';

const $ = (id) => document.getElementById(id);
const pageSize = 50;

// What each route did, in words (others show their route).
const actions = {
  'POST /api/v1/alerts': 'alert.send',
  'POST /api/v1/alerts/{id}/cancel': 'alert.cancel',
  'POST /api/v1/alerts/{id}/acks': 'alert.answer_for',
  'POST /api/v1/reports': 'report.create',
  'WS report': 'report.create',
  'PATCH /api/v1/reports/{id}': 'report.handle',
  'POST /api/v1/bulletins': 'bulletin',
  'POST /api/v1/villages': 'village.create',
  'POST /api/v1/members': 'member.create',
  'PATCH /api/v1/members/{id}': 'member.change',
  'DELETE /api/v1/members/{id}': 'member.erase',
  'PUT /api/v1/members/{id}/home': 'member.home',
  'POST /api/v1/members/{id}/tokens': 'token.issue',
  'POST /api/v1/members/{id}/tokens/revoke': 'token.revoke',
  'DELETE /api/v1/tokens/{token_id}': 'token.revoke',
  'POST /api/v1/me/token/rotate': 'token.rotate',
  'POST /api/v1/import/members': 'import.members',
  'POST /api/v1/import/villages': 'import.villages',
  'POST /api/v1/invitations': 'invite',
  'POST /api/v1/geo/network': 'network.put',
  'DELETE /api/v1/geo/network': 'network.delete',
  'POST /api/v1/templates': 'template.create',
  'PUT /api/v1/templates/{id}': 'template.change',
  'DELETE /api/v1/templates/{id}': 'template.delete',
};

export class Audit {
  constructor(ctx) {
    this.ctx = ctx; // {api, member}
    this.entries = [];
    this.next = '';
    this.loaded = false;
    $('au-filters').onsubmit = (e) => {
      e.preventDefault();
      this.load();
    };
    $('au-more').onclick = () => this.load(true);
    $('au-export').onclick = () => this.export();
    onLangChange(() => this.render());
  }

  /** setMember shows the tab to commanders and admins only. */
  setMember(member) {
    this.ctx.member = member;
    $('tab-audit').hidden = !(member.role === 'commander' || member.role === 'admin');
  }

  /** show loads the trail the first time the tab opens. */
  show() {
    if (!this.loaded) this.load();
  }

  query() {
    const q = new URLSearchParams();
    const add = (k, id) => {
      const v = $(id).value.trim();
      if (v) q.set(k, v);
    };
    add('actor', 'au-actor');
    add('action', 'au-action');
    add('target', 'au-target');
    for (const [k, id] of [['since', 'au-from'], ['until', 'au-to']]) {
      const v = $(id).value;
      if (v) q.set(k, new Date(v).toISOString());
    }
    return q;
  }

  async load(more) {
    const q = this.query();
    q.set('limit', String(pageSize));
    if (more && this.next) q.set('before', this.next);
    try {
      const res = await this.ctx.api.get('/api/v1/audit?' + q);
      this.entries = more ? this.entries.concat(res.entries) : res.entries;
      this.next = res.next_before || '';
      this.loaded = true;
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
      return;
    }
    this.render();
  }

  render() {
    $('au-more').hidden = !this.next;
    $('au-empty').hidden = this.entries.length > 0;
    $('au-rows').innerHTML = this.entries.map((e) => this.row(e)).join('');
  }

  row(e) {
    const key = actions[e.route];
    const what = key ? t('audit.a.' + key) : e.route;
    const who = e.actor_id ? `${esc(e.actor_id)} · ${esc(t('role.' + e.actor_role))}` : esc(t('audit.anonymous'));
    const when = new Date(e.at).toLocaleString();
    const change = e.before || e.after ? `<details><summary>${esc(t('audit.change'))}</summary>${diff(e.before, e.after)}</details>` : '';
    return `<li class="au-row" data-seq="${e.seq}" data-route="${esc(e.route)}">
      <div class="au-head"><b class="au-what">${esc(what)}</b> <span class="au-target">${esc(e.target)}</span></div>
      <div class="au-meta">${esc(when)} · ${who}${e.addr ? ' · ' + esc(e.addr) : ''} · ${e.status}</div>${change}</li>`;
  }

  async export() {
    const q = this.query();
    try {
      const res = await fetch('/api/v1/audit/export.csv?' + q, { headers: { Authorization: 'Bearer ' + this.ctx.api.token }, cache: 'no-store' });
      if (!res.ok) throw new Error(res.status + ' ' + res.statusText);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = 'audit.csv';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      toast(t('common.error', { msg: e.message }), 'error');
    }
  }
}

/** diff lists the fields that differ between before and after (all of them when one is missing). */
function diff(before, after) {
  const b = before || {};
  const a = after || {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]));
  const v = (x) => (x === undefined ? '—' : typeof x === 'string' ? x : JSON.stringify(x));
  return `<table class="au-diff">${keys
    .map((k) => `<tr data-field="${esc(k)}"><th>${esc(k)}</th><td>${esc(v(b[k]))}</td><td>→</td><td>${esc(v(a[k]))}</td></tr>`)
    .join('')}</table>`;
}
