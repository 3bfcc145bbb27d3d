// cmd-map: the command center's county map. It works with no tile server
// at all (hexagons, villages and markers on a plain background); a base
// map is an opt-in setting. Leaflet and h3-js are the vendored UMD builds
// (window.L, window.h3).

import { t, ago, clock } from './i18n.js';
import { esc } from './api.js';
import { tileSettings } from './leaflet-loader.js';

const L = window.L;
const h3 = window.h3;

export const speedsKmH = { walk: 5, bike: 15, drive: 40 };
export const sevColor = { extreme: '#7b1fa2', severe: '#c62828', moderate: '#ef6c00', minor: '#f9a825' };
const statusColor = { new: '#d32f2f', accepted: '#1565c0', in_progress: '#ef6c00', resolved: '#2e7d32', rejected: '#757575' };
const maxPreviewCells = 3000;

/** reachRadiusM is docs/API.md's reach: the distance covered in minutes at the mode's speed. */
export function reachRadiusM(minutes, mode) {
  return ((speedsKmH[mode] || 5) * 1000 * minutes) / 60;
}

/** cellPolygon is an H3 cell's outline as Leaflet [lat, lng] pairs. */
function cellPolygon(cell) {
  return h3.cellToBoundary(cell);
}

function densityColor(n, max) {
  // A log scale: a village core of 80 people and a lone farm both show.
  const f = Math.log(1 + n) / Math.log(1 + Math.max(max, 1));
  const stops = [
    [255, 245, 157],
    [255, 183, 77],
    [244, 81, 30],
    [183, 28, 28],
  ];
  const x = f * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const u = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * u));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export class CommandMap {
  constructor(elID) {
    this.map = L.map(elID, { preferCanvas: true, zoomControl: true, attributionControl: true, doubleClickZoom: true });
    this.map.attributionControl.setPrefix('');
    this.map.setView([29.03, 119.17], 11);
    this.tiles = null;
    this.layers = {
      density: L.layerGroup().addTo(this.map),
      villages: L.layerGroup().addTo(this.map),
      alerts: L.layerGroup().addTo(this.map),
      preview: L.layerGroup().addTo(this.map),
      reports: L.layerGroup().addTo(this.map),
      patrols: L.layerGroup().addTo(this.map),
      needHelp: L.layerGroup().addTo(this.map),
      draw: L.layerGroup().addTo(this.map),
    };
    this.villageMarkers = new Map();
    this.reportMarkers = new Map();
    this.selectedVillages = new Set();
    this.onVillageClick = null;
    this.drawing = false;
    this.control = null;
    this.applyTiles();
    this.buildControl();
    const zoomClass = () => this.map.getContainer().classList.toggle('z-low', this.map.getZoom() < 12);
    this.map.on('zoomend', zoomClass);
    zoomClass();
  }

  buildControl() {
    if (this.control) this.control.remove();
    const o = {};
    o[t('layer.density')] = this.layers.density;
    o[t('layer.villages')] = this.layers.villages;
    o[t('layer.alerts')] = this.layers.alerts;
    o[t('layer.reports')] = this.layers.reports;
    o[t('layer.patrols')] = this.layers.patrols;
    o[t('layer.needhelp')] = this.layers.needHelp;
    this.control = L.control.layers(null, o, { collapsed: true, position: 'topright' }).addTo(this.map);
  }

  /** applyTiles adds the base map from the settings, or none. */
  applyTiles() {
    if (this.tiles) {
      this.tiles.remove();
      this.tiles = null;
    }
    const s = tileSettings();
    this.map.getContainer().classList.toggle('no-tiles', !s);
    if (s) {
      this.tiles = L.tileLayer(s.url, { attribution: esc(s.attribution), maxZoom: 19, crossOrigin: false }).addTo(this.map);
      this.tiles.bringToBack();
    }
  }

  fitVillages(villages) {
    if (!villages.length) return;
    const b = L.latLngBounds(villages.map((v) => [v.center.lat, v.center.lng]));
    this.map.fitBounds(b.pad(0.15));
  }

  setDensity(cells) {
    const g = this.layers.density;
    g.clearLayers();
    const entries = Object.entries(cells || {});
    const max = entries.reduce((m, [, n]) => Math.max(m, n), 0);
    for (const [cell, n] of entries) {
      let poly;
      try {
        poly = cellPolygon(cell);
      } catch {
        continue;
      }
      L.polygon(poly, {
        color: '#8d6e63',
        weight: 0.6,
        fillColor: densityColor(n, max),
        fillOpacity: 0.55,
        interactive: true,
        bubblingMouseEvents: true,
      })
        .bindTooltip(t('map.members', { n }), { sticky: true })
        .addTo(g);
    }
  }

  setVillages(villages) {
    const g = this.layers.villages;
    g.clearLayers();
    this.villageMarkers.clear();
    for (const v of villages) {
      const m = L.circleMarker([v.center.lat, v.center.lng], {
        radius: 6,
        color: '#263238',
        weight: 1.5,
        fillColor: '#fff',
        fillOpacity: 1,
        bubblingMouseEvents: true,
        interactive: !this.drawing,
      })
        .bindTooltip(esc(v.name), { permanent: true, direction: 'right', offset: [6, 0], className: 'village-label' })
        .addTo(g);
      m.on('click', () => this.onVillageClick && this.onVillageClick(v.id));
      this.villageMarkers.set(v.id, m);
    }
    this.styleVillages();
  }

  /**
   * setDrawing makes the markers let clicks through to the map while an
   * area is drawn: on the canvas renderer a marker with its own click
   * handler keeps the click from the map. (Canvas reads the option at
   * every hit test, so flipping it is enough.)
   */
  setDrawing(on) {
    this.drawing = on;
    for (const m of this.villageMarkers.values()) m.options.interactive = !on;
    for (const m of this.reportMarkers.values()) m.options.interactive = !on;
  }

  setSelectedVillages(ids) {
    this.selectedVillages = new Set(ids);
    this.styleVillages();
  }

  styleVillages() {
    for (const [id, m] of this.villageMarkers) {
      const sel = this.selectedVillages.has(id);
      m.setStyle({ fillColor: sel ? '#1565c0' : '#fff', radius: sel ? 9 : 6, color: sel ? '#0d47a1' : '#263238' });
    }
  }

  /** areaLayers draws an API area object (circle, polygon, reach or villages). */
  areaLayers(area, style, villages) {
    const out = [];
    if (!area) return out;
    if (area.circle) out.push(L.circle([area.circle.lat, area.circle.lng], { radius: area.circle.radius_m, ...style }));
    if (area.polygon) out.push(L.polygon(area.polygon.map((p) => [p[0], p[1]]), style));
    if (area.reach) {
      const r = reachRadiusM(area.reach.minutes || 15, area.reach.mode || 'walk');
      out.push(L.circle([area.reach.lat, area.reach.lng], { radius: r, ...style, dashArray: '6 4' }));
      out.push(L.circleMarker([area.reach.lat, area.reach.lng], { radius: 4, color: style.color, fillOpacity: 1 }));
    }
    if (area.villages && villages) {
      for (const id of area.villages) {
        const v = villages.get(id);
        if (v) out.push(L.circle([v.center.lat, v.center.lng], { radius: 1500, ...style, dashArray: '4 4' }));
      }
    }
    return out;
  }

  setAlertAreas(alerts, villages) {
    const g = this.layers.alerts;
    g.clearLayers();
    for (const a of alerts) {
      const color = sevColor[a.severity] || '#c62828';
      for (const l of this.areaLayers(a.area, { color, weight: 2, fillOpacity: 0.08, interactive: false }, villages)) l.addTo(g);
    }
  }

  /** fitArea zooms to an area. */
  fitArea(area, villages) {
    const ls = this.areaLayers(area, {}, villages);
    if (!ls.length) return;
    const g = L.featureGroup(ls);
    // Circles need a map to know their bounds.
    g.addTo(this.map);
    const b = g.getBounds();
    g.remove();
    if (b.isValid()) this.map.fitBounds(b.pad(0.2));
  }

  setPreviewCells(cells) {
    const g = this.layers.preview;
    g.clearLayers();
    for (const c of (cells || []).slice(0, maxPreviewCells)) {
      try {
        L.polygon(cellPolygon(c), { color: '#1565c0', weight: 0.7, fillOpacity: 0.06, interactive: false }).addTo(g);
      } catch {
        // not an H3 index: skip
      }
    }
  }

  upsertReport(r, popupHTML) {
    let m = this.reportMarkers.get(r.id);
    const style = { radius: 9, color: '#fff', weight: 2, fillColor: statusColor[r.status] || '#d32f2f', fillOpacity: 0.95 };
    if (!m) {
      m = L.circleMarker([r.lat, r.lng], style).addTo(this.layers.reports);
      m.options.interactive = !this.drawing;
      m.on('click', () => this.openReportPopup(m));
      this.reportMarkers.set(r.id, m);
    } else {
      m.setLatLng([r.lat, r.lng]);
      m.setStyle(style);
    }
    m.popupHTML = popupHTML;
    if (this.popup && this.popup.reportMarker === m && this.map.hasLayer(this.popup)) this.popup.setContent(popupHTML);
  }

  openReportPopup(m) {
    this.popup = L.popup({ maxWidth: 280, offset: [0, -6] }).setLatLng(m.getLatLng()).setContent(m.popupHTML);
    this.popup.reportMarker = m;
    this.popup.openOn(this.map);
  }

  removeReport(id) {
    const m = this.reportMarkers.get(id);
    if (m) {
      m.remove();
      this.reportMarkers.delete(id);
    }
  }

  focusReport(id) {
    const m = this.reportMarkers.get(id);
    if (!m) return;
    this.map.setView(m.getLatLng(), Math.max(this.map.getZoom(), 14));
    this.openReportPopup(m);
  }

  setPatrols(members) {
    const g = this.layers.patrols;
    g.clearLayers();
    for (const m of members) {
      if (!m.live) continue;
      L.circleMarker([m.live.lat, m.live.lng], { radius: 7, color: '#fff', weight: 2, fillColor: '#2e7d32', fillOpacity: 1 })
        .bindTooltip(`${esc(m.name)}<br>${esc(t('map.patrol.at', { t: ago(m.live.at) }))}`, { direction: 'top' })
        .addTo(g);
    }
  }

  /** setNeedHelp marks, for every active alert, those who need help. */
  setNeedHelp(people) {
    const g = this.layers.needHelp;
    g.clearLayers();
    for (const p of people) {
      const pos = p.live || p.home;
      if (!pos) continue;
      L.circleMarker([pos.lat, pos.lng], { radius: 10, color: '#b71c1c', weight: 3, fillColor: '#ff5252', fillOpacity: 0.9, className: 'need-help-marker' })
        .bindTooltip(`${esc(p.name)} ${esc(p.phone || '')}<br>${esc(t('resp.need_help'))} · ${esc(p.responded_at ? clock(p.responded_at) : '')}`, {
          direction: 'top',
        })
        .addTo(g);
    }
  }

  flyTo(lat, lng, zoom = 15) {
    this.map.setView([lat, lng], Math.max(this.map.getZoom(), zoom));
  }
}
