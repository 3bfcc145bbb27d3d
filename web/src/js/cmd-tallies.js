// cmd-tallies: the emergency tallies tab of the command center (docs/API.md
// v1.6 "patrol rounds, visits and tallies", issue 16 part 6): pick an
// alert, a named emergency period or two dates, and read per village the
// reports, notices, patrol rounds and visits it brought (with the report
// figures when the hub has them), the totals, the rounds per day, and a
// CSV export. Commanders name emergency periods here.

import { t, onLangChange, clock } from './i18n.js';
import { esc, toast } from './api.js';

const $ = (id) => document.getElementById(id);
const figureCols = ['on_time', 'overdue', 'solved_in_village', 'median_resolve_s'];
const maxTracks = 50; // the tracks drawn on the map at most
const kindName = (k) => (t('rd.kind.' + k) === 'rd.kind.' + k ? k : t('rd.kind.' + k));
const kindColor = { fire: '#d84315', flood: '#1565c0', landslide: '#6d4c41', sanitation: '#2e7d32' };

export class Tallies {
  constructor(ctx) {
    this.ctx = ctx; // {api, villages, member}
    this.by = 'alert';
    this.alerts = [];
    this.emergencies = [];
    this.result = null;
    this.query = '';
    onLangChange(() => {
      this.renderForm();
      this.render();
    });
    for (const b of document.querySelectorAll('#tl-by button')) {
      b.onclick = () => {
        this.by = b.dataset.by;
        this.renderForm();
      };
    }
    $('tl-go').onclick = () => this.run();
    $('tl-csv').onclick = () => this.csv();
    $('tl-em-add').onclick = () => this.addEmergency();
    const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
    $('tl-from').value = today;
    $('tl-to').value = today;
    this.renderForm();
  }

  /** show reads the alerts and emergency periods to pick from (when the tab opens). */
  async show() {
    try {
      const [a, e] = await Promise.all([this.ctx.api.get('/api/v1/alerts?limit=100'), this.ctx.api.get('/api/v1/emergencies')]);
      this.alerts = a.alerts || [];
      this.emergencies = e.emergencies || [];
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
    }
    this.renderForm();
  }

  renderForm() {
    for (const b of document.querySelectorAll('#tl-by button')) b.classList.toggle('active', b.dataset.by === this.by);
    $('tl-alert-row').hidden = this.by !== 'alert';
    $('tl-em-row').hidden = this.by !== 'emergency';
    $('tl-dates-row').hidden = this.by !== 'dates';
    const m = this.ctx.member;
    $('tl-em-new').hidden = this.by !== 'emergency' || !m || (m.role !== 'commander' && m.role !== 'admin');
    const cur = $('tl-alert').value;
    $('tl-alert').innerHTML = this.alerts.length
      ? this.alerts.map((a) => `<option value="${esc(a.id)}">${esc(a.title)} · ${esc(clock(a.created_at))}</option>`).join('')
      : `<option value="">${esc(t('tl.none'))}</option>`;
    if ([...$('tl-alert').options].some((o) => o.value === cur)) $('tl-alert').value = cur;
    const curE = $('tl-em').value;
    $('tl-em').innerHTML = this.emergencies.length
      ? this.emergencies.map((e) => `<option value="${esc(e.id)}">${esc(e.name)} · ${esc(clock(e.from))} – ${esc(clock(e.to))}</option>`).join('')
      : `<option value="">${esc(t('tl.none'))}</option>`;
    if ([...$('tl-em').options].some((o) => o.value === curE)) $('tl-em').value = curE;
    const curV = $('tl-village').value;
    // A cadre reads its village's tallies (a township cadre its township's).
    const mine = (v) => !m || m.role !== 'cadre' || v.id === m.village_id || (m.township && v.township === m.township);
    const vs = [...this.ctx.villages.values()]
      .filter(mine)
      .sort((a, b) => (a.township + a.name).localeCompare(b.township + b.name, 'zh-CN'));
    $('tl-village').innerHTML =
      `<option value="">${esc(t('tl.village.all'))}</option>` +
      vs.map((v) => `<option value="${esc(v.id)}">${esc(v.name)}（${esc(v.township)}）</option>`).join('');
    if ([...$('tl-village').options].some((o) => o.value === curV)) $('tl-village').value = curV;
  }

  /** params is the tallies query of the form, or null (with a toast) when it is incomplete. */
  params() {
    const q = new URLSearchParams();
    if (this.by === 'alert') {
      if (!$('tl-alert').value) return toast(t('tl.pick'), 'error'), null;
      q.set('alert_id', $('tl-alert').value);
    } else if (this.by === 'emergency') {
      if (!$('tl-em').value) return toast(t('tl.pick'), 'error'), null;
      q.set('emergency_id', $('tl-em').value);
    } else {
      q.set('from', $('tl-from').value);
      q.set('to', $('tl-to').value);
    }
    if ($('tl-village').value) q.set('village_id', $('tl-village').value);
    return q.toString();
  }

  async run() {
    const q = this.params();
    if (q === null) return;
    try {
      this.result = await this.ctx.api.get('/api/v1/tallies?' + q);
      this.query = q;
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
      return;
    }
    this.render();
  }

  render() {
    const box = $('tallies');
    const r = this.result;
    if (!r) {
      box.innerHTML = '';
      return;
    }
    const figs = r.villages.some((v) => 'on_time' in v) || 'on_time' in r.total;
    const cols = ['reports', 'notices', 'rounds', 'visits', ...(figs ? figureCols : [])];
    const cell = (row, c) => {
      const v = row[c];
      if (v === undefined || v === null) return '';
      return c === 'median_resolve_s' ? esc(Math.round(v / 60) + ' ' + t('tl.min')) : esc(String(v));
    };
    let html = `<p class="help" id="tl-span">${esc(t('tl.span', { from: clock(r.from), to: clock(r.to) }))}</p>
      <table class="tl-table" id="tl-table"><thead><tr><th>${esc(t('tl.col.village'))}</th>${cols
        .map((c) => `<th>${esc(t('tl.col.' + c))}</th>`)
        .join('')}</tr></thead><tbody>`;
    for (const v of r.villages) {
      html += `<tr data-village-id="${esc(v.village_id)}"><td>${esc(v.name || v.village_id)}${
        v.township ? ` <span class="muted">${esc(v.township)}</span>` : ''
      }</td>${cols.map((c) => `<td data-col="${c}">${cell(v, c)}</td>`).join('')}</tr>`;
    }
    html += `</tbody><tfoot><tr class="tl-total"><td>${esc(t('tl.total'))}</td>${cols
      .map((c) => `<td data-col="${c}">${cell(r.total, c)}</td>`)
      .join('')}</tr></tfoot></table>`;
    if (r.county_notices) html += `<p class="help">${esc(t('tl.county', { n: r.county_notices }))}</p>`;
    if (r.days && r.days.length) {
      html += `<h3 class="sub">${esc(t('tl.days'))}</h3><table class="tl-table tl-days"><thead><tr><th>${esc(
        t('tl.col.date'),
      )}</th><th>${esc(t('tl.col.rounds'))}</th><th>${esc(t('tl.col.visits'))}</th></tr></thead><tbody>${r.days
        .map((d) => `<tr><td>${esc(d.date)}</td><td>${d.rounds}</td><td>${d.visits}</td></tr>`)
        .join('')}</tbody></table>`;
    }
    if (r.total.rounds > 0 && this.ctx.cmap) {
      html += `<button type="button" id="tl-map" class="btn">${esc(t('tl.map', { n: Math.min(r.total.rounds, maxTracks) }))}</button>`;
    }
    box.innerHTML = html;
    const mb = $('tl-map');
    if (mb) mb.onclick = () => this.drawRounds(mb);
  }

  /** drawRounds draws the tracks of the span's rounds (the newest maxTracks) on the map. */
  async drawRounds(button) {
    const r = this.result;
    const q = new URLSearchParams({ from: r.from, to: r.to, limit: String(maxTracks) });
    const v = new URLSearchParams(this.query).get('village_id');
    if (v) q.set('village_id', v);
    let rounds;
    let tracks;
    try {
      rounds = (await this.ctx.api.get('/api/v1/rounds?' + q)).rounds;
      tracks = await Promise.all(rounds.map((x) => this.ctx.api.get('/api/v1/rounds/' + encodeURIComponent(x.id))));
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
      return;
    }
    const cmap = this.ctx.cmap;
    if (!this.layer) this.layer = L.layerGroup().addTo(cmap.map);
    this.layer.clearLayers();
    const bounds = [];
    let drawn = 0;
    for (const x of tracks) {
      const pts = x.track.geometry.coordinates.map((c) => cmap.ll(c[1], c[0]));
      if (!pts.length) continue;
      bounds.push(...pts);
      drawn++;
      const color = kindColor[x.round.kind] || '#6a1b9a';
      // A round that stood still has one point: a dot.
      (pts.length > 1
        ? L.polyline(pts, { color, weight: 4, opacity: 0.8 })
        : L.circleMarker(pts[0], { radius: 6, color: '#fff', weight: 2, fillColor: color, fillOpacity: 1 })
      )
        .bindTooltip(
          `${esc(kindName(x.round.kind))} · ${esc(clock(x.round.started_at))}<br>${esc(
            t('tl.track', { n: x.round.points, d: Math.round(x.round.distance_m) }),
          )}`,
          { sticky: true },
        )
        .addTo(this.layer);
    }
    if (bounds.length) cmap.map.fitBounds(bounds, { maxZoom: 16, padding: [20, 20] });
    button.dataset.drawn = String(drawn);
    toast(t('tl.map.done', { n: drawn }), 'ok');
  }

  /** csv downloads the same query as CSV (fetch with the bearer: a plain link cannot carry it). */
  async csv() {
    const q = this.params();
    if (q === null) return;
    try {
      const res = await fetch('/api/v1/tallies.csv?' + q, { headers: { Authorization: 'Bearer ' + this.ctx.api.token } });
      if (!res.ok) throw new Error(res.statusText || String(res.status));
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = 'tallies.csv';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
    }
  }

  async addEmergency() {
    const name = $('tl-em-name').value.trim();
    const from = $('tl-em-from').value;
    const to = $('tl-em-to').value;
    if (!name || !from || !to) return toast(t('tl.em.incomplete'), 'error');
    try {
      const e = (await this.ctx.api.post('/api/v1/emergencies', { name, from, to })).emergency;
      this.emergencies.unshift(e);
      this.renderForm();
      $('tl-em').value = e.id;
      $('tl-em-name').value = '';
      toast(t('tl.em.added', { name: e.name }), 'ok');
    } catch (err) {
      toast(t('common.error', { msg: err.message }), 'error');
    }
  }
}
