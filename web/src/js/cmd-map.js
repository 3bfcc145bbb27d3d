// cmd-map: the command center's county map. It works with no tile server
// at all (hexagons, villages and markers on a plain background); the
// basemap is the server's (GET /api/v1/map), which a per-browser tile URL
// setting may override. Leaflet and h3-js are the vendored UMD builds
// (window.L, window.h3).
//
// Positions from the hub are WGS-84. On a GCJ-02 basemap every overlay is
// drawn shifted into GCJ-02 (ll), and what the operator draws or clicks is
// shifted back (unll) before it is sent.

import { t, ago, clock } from './i18n.js';
import { esc } from './api.js';
import { basemapCRS, basemapLayers } from './leaflet-loader.js';
import { wgs2gcj, gcj2wgs } from './gcj02.js';
import { networkLayer, outlineLatLngs } from './cmd-network.js';

const L = window.L;
const h3 = window.h3;

export const speedsKmH = { walk: 5, bike: 15, motorbike: 30, drive: 40 };
export const sevColor = { extreme: '#7b1fa2', severe: '#c62828', moderate: '#ef6c00', minor: '#f9a825' };
const statusColor = { new: '#d32f2f', accepted: '#1565c0', in_progress: '#ef6c00', resolved: '#2e7d32', rejected: '#757575' };
const maxPreviewCells = 3000;

/** reachRadiusM is docs/API.md's reach: the distance covered in minutes at the mode's speed. */
export function reachRadiusM(minutes, mode) {
  return ((speedsKmH[mode] || 5) * 1000 * minutes) / 60;
}

/** reachKey names a reach (its isochrone is cached by it). */
function reachKey(r) {
  return [r.lat, r.lng, r.minutes || 15, r.mode || 'walk'].join(',');
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
    // A bounded zoom: without one (no tile layer) fitting a single point
    // asks for zoom Infinity and Leaflet draws NaN.
    this.map = L.map(elID, { preferCanvas: true, zoomControl: true, attributionControl: true, doubleClickZoom: true, minZoom: 3, maxZoom: 19 });
    this.map.attributionControl.setPrefix('');
    this.map.setView([29.03, 119.17], 11);
    // Panes above the tiles (200) and under the other overlays (400): the
    // density, then the travel network over it, each on its own canvas.
    this.map.createPane('density').style.zIndex = 330;
    this.map.createPane('network').style.zIndex = 350;
    this.densityOn = { pane: 'density', renderer: L.canvas({ pane: 'density' }) };
    this.networkOn = { pane: 'network', renderer: L.canvas({ pane: 'network' }) };
    this.tiles = [];
    this.basemap = null; // GET /api/v1/map
    this.token = '';
    this.crs = 'wgs84'; // of what is drawn
    this.api = null;
    this.network = null; // the network layer group, when the hub has one
    this.outlines = new Map(); // reachKey -> {outline} | {pending: true}
    this.lastAlerts = null; // [alerts, villages], redrawn when an outline arrives
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
    if (this.network) o[t('layer.network')] = this.network;
    this.control = L.control.layers(null, o, { collapsed: true, position: 'topright' }).addTo(this.map);
  }

  /** ll is where a WGS-84 position is drawn: [lat, lng] in the basemap's CRS. */
  ll(lat, lng) {
    return this.crs === 'gcj02' ? wgs2gcj(lat, lng) : [lat, lng];
  }

  /** unll is the WGS-84 position of a point on the map (a Leaflet LatLng). */
  unll(latlng) {
    if (this.crs !== 'gcj02') return { lat: latlng.lat, lng: latlng.lng };
    const [lat, lng] = gcj2wgs(latlng.lat, latlng.lng);
    return { lat, lng };
  }

  /**
   * setBasemap takes the server's map (GET /api/v1/map) before anything
   * is drawn; token is for tiles the hub serves itself (/tiles), api for
   * the network layer and the isochrones of active reach alerts.
   */
  setBasemap(info, token, api) {
    this.basemap = info;
    this.token = token;
    this.api = api;
    this.applyTiles();
    if (info && info.network) this.addNetworkLayer();
  }

  /**
   * applyTiles shows the basemap, or none. The CRS is fixed by the first
   * call: what is drawn is already shifted (the settings reload the page
   * when it changes).
   */
  applyTiles() {
    for (const l of this.tiles) l.remove();
    this.crs = basemapCRS(this.basemap);
    this.tiles = basemapLayers(L, this.basemap, this.token);
    this.map.getContainer().classList.toggle('no-tiles', !this.tiles.length);
    for (const l of this.tiles) l.addTo(this.map);
    for (const l of [...this.tiles].reverse()) l.bringToBack();
  }

  /** addNetworkLayer offers the travel network (drawn on first show). */
  addNetworkLayer() {
    if (this.network) return;
    this.network = L.layerGroup();
    let loaded = false;
    this.network.on('add', async () => {
      if (loaded || !this.api) return;
      loaded = true;
      try {
        const fc = await this.api.get('/api/v1/geo/network.geojson');
        this.network.clearLayers();
        this.network.addLayer(networkLayer(fc, (lat, lng) => this.ll(lat, lng), this.networkOn));
        this.network.loaded = true;
      } catch (e) {
        loaded = e.status === 404; // none any more: do not ask again
      }
    });
    this.network.addTo(this.map);
    this.buildControl();
  }

  fitVillages(villages) {
    if (!villages.length) return;
    const b = L.latLngBounds(villages.map((v) => this.ll(v.center.lat, v.center.lng)));
    // One village (or several in one spot) is a bounds of no size: centre on it.
    if (b.getNorthEast().distanceTo(b.getSouthWest()) < 500) this.map.setView(b.getCenter(), 14);
    else this.map.fitBounds(b.pad(0.15));
  }

  setDensity(cells) {
    const g = this.layers.density;
    g.clearLayers();
    const entries = Object.entries(cells || {});
    const max = entries.reduce((m, [, n]) => Math.max(m, n), 0);
    for (const [cell, n] of entries) {
      let poly;
      try {
        poly = this.cellPolygon(cell);
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
        ...this.densityOn,
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
      const m = L.circleMarker(this.ll(v.center.lat, v.center.lng), {
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

  /** cellPolygon is an H3 cell's outline as Leaflet [lat, lng] pairs, as drawn. */
  cellPolygon(cell) {
    return h3.cellToBoundary(cell).map((p) => this.ll(p[0], p[1]));
  }

  /**
   * reachOutline is a reach area's isochrone when the hub has a network:
   * the outline (drawn coordinates), null for a circle, or undefined while
   * it is asked for (the alert areas are drawn again when it comes).
   */
  reachOutline(reach) {
    if (!this.network || !this.api) return null;
    const key = reachKey(reach);
    const o = this.outlines.get(key);
    if (o) return o.pending ? undefined : o.outline;
    this.outlines.set(key, { pending: true });
    const q = new URLSearchParams({ lat: reach.lat, lng: reach.lng, minutes: reach.minutes || 15, mode: reach.mode || 'walk' });
    this.api
      .get('/api/v1/geo/isochrone?' + q)
      .then((d) => this.outlines.set(key, { outline: d.reach && d.reach.method === 'network' ? d.outline : null }))
      .catch(() => this.outlines.set(key, { outline: null }))
      .then(() => this.lastAlerts && this.setAlertAreas(...this.lastAlerts));
    return undefined;
  }

  /** areaLayers draws an API area object (circle, polygon, reach, villages or a union of circles and polygons). */
  areaLayers(area, style, villages) {
    const out = [];
    if (!area) return out;
    if (area.union) for (const part of area.union) out.push(...this.areaLayers(part, style, villages));
    if (area.circle) out.push(L.circle(this.ll(area.circle.lat, area.circle.lng), { radius: area.circle.radius_m, ...style }));
    if (area.polygon) out.push(L.polygon(area.polygon.map((p) => this.ll(p[0], p[1])), style));
    if (area.reach) {
      const at = this.ll(area.reach.lat, area.reach.lng);
      const lls = outlineLatLngs(this.reachOutline(area.reach), (lat, lng) => this.ll(lat, lng));
      if (lls) out.push(L.polygon(lls, { ...style, className: 'reach-outline' }));
      else {
        const r = reachRadiusM(area.reach.minutes || 15, area.reach.mode || 'walk');
        out.push(L.circle(at, { radius: r, ...style, dashArray: '6 4' }));
      }
      out.push(L.circleMarker(at, { radius: 4, color: style.color, fillOpacity: 1 }));
    }
    if (area.villages && villages) {
      for (const id of area.villages) {
        const v = villages.get(id);
        if (v) out.push(L.circle(this.ll(v.center.lat, v.center.lng), { radius: 1500, ...style, dashArray: '4 4' }));
      }
    }
    return out;
  }

  setAlertAreas(alerts, villages) {
    this.lastAlerts = [alerts, villages];
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

  /**
   * setPreview draws a preview's area: the reach's isochrone outline
   * (GeoJSON, WGS-84) when there is one, else the H3 cells it covers.
   */
  setPreview(cells, outline) {
    const g = this.layers.preview;
    g.clearLayers();
    const lls = outlineLatLngs(outline, (lat, lng) => this.ll(lat, lng));
    if (lls) {
      L.polygon(lls, { color: '#0d47a1', weight: 2.5, fillColor: '#42a5f5', fillOpacity: 0.22, interactive: false, className: 'reach-outline preview-outline' }).addTo(g);
      return;
    }
    for (const c of (cells || []).slice(0, maxPreviewCells)) {
      try {
        L.polygon(this.cellPolygon(c), { color: '#1565c0', weight: 0.7, fillOpacity: 0.06, interactive: false }).addTo(g);
      } catch {
        // not an H3 index: skip
      }
    }
  }



  upsertReport(r, popupHTML) {
    let m = this.reportMarkers.get(r.id);
    const style = { radius: 9, color: '#fff', weight: 2, fillColor: statusColor[r.status] || '#d32f2f', fillOpacity: 0.95 };
    if (!m) {
      m = L.circleMarker(this.ll(r.lat, r.lng), style).addTo(this.layers.reports);
      m.options.interactive = !this.drawing;
      m.on('click', () => this.openReportPopup(m));
      this.reportMarkers.set(r.id, m);
    } else {
      m.setLatLng(this.ll(r.lat, r.lng));
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
      L.circleMarker(this.ll(m.live.lat, m.live.lng), { radius: 7, color: '#fff', weight: 2, fillColor: '#2e7d32', fillOpacity: 1 })
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
      L.circleMarker(this.ll(pos.lat, pos.lng), { radius: 10, color: '#b71c1c', weight: 3, fillColor: '#ff5252', fillOpacity: 0.9, className: 'need-help-marker' })
        .bindTooltip(`${esc(p.name)} ${esc(p.phone || '')}<br>${esc(t('resp.need_help'))} · ${esc(p.responded_at ? clock(p.responded_at) : '')}`, {
          direction: 'top',
        })
        .addTo(g);
    }
  }

  flyTo(lat, lng, zoom = 15) {
    this.map.setView(this.ll(lat, lng), Math.max(this.map.getZoom(), zoom));
  }
}
