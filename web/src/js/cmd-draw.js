// cmd-draw: drawing an alert's area on the map, without a plugin.
//   circle:  click the centre, move, click again to fix the radius;
//   polygon: click each corner, double-click (or Done) to close;
//   reach:   click the meeting point (radius from minutes and mode).
// A new click after a finished shape starts a new one.
// Shapes are drawn in the map's coordinates (GCJ-02 on such a basemap);
// area() gives WGS-84, through the unll the map provides.

import { reachRadiusM } from './cmd-map.js';

const L = window.L;

export class Drawer {
  /**
   * @param {L.Map} map
   * @param {L.LayerGroup} layer where the shape is drawn
   * @param {() => void} onChange called whenever the area changes
   * @param {(drawing: boolean) => void} [onDrawing] called when drawing starts or stops
   * @param {(ll: L.LatLng) => {lat: number, lng: number}} [unll] the WGS-84 position of a map point
   */
  constructor(map, layer, onChange, onDrawing, unll) {
    this.map = map;
    this.unll = unll || ((ll) => ({ lat: ll.lat, lng: ll.lng }));
    this.reachCircle = true; // false while the reach is drawn as its isochrone instead
    this.onDrawing = onDrawing;
    this.layer = layer;
    this.onChange = onChange;
    this.mode = null;
    this.circle = null; // {center: LatLng, radius, fixed}
    this.poly = { points: [], closed: false };
    this.reach = { point: null, minutes: 15, mode: 'walk' };
    this.cursor = null;
    map.on('click', (e) => this.onClick(e));
    map.on('mousemove', (e) => this.onMove(e));
    map.on('dblclick', (e) => this.onDblClick(e));
  }

  setMode(mode) {
    this.mode = mode;
    const drawing = mode === 'circle' || mode === 'polygon' || mode === 'reach';
    this.map.getContainer().classList.toggle('drawing', drawing);
    this.onDrawing && this.onDrawing(drawing);
    if (mode === 'polygon') this.map.doubleClickZoom.disable();
    else this.map.doubleClickZoom.enable();
    this.render();
    this.onChange();
  }

  clear() {
    this.circle = null;
    this.poly = { points: [], closed: false };
    this.reach.point = null;
    this.render();
    this.onChange();
  }

  onClick(e) {
    const ll = e.latlng;
    switch (this.mode) {
      case 'circle':
        if (!this.circle || this.circle.fixed) this.circle = { center: ll, radius: 0, fixed: false };
        else {
          this.circle.radius = Math.max(10, this.circle.center.distanceTo(ll));
          this.circle.fixed = true;
          this.onChange();
        }
        break;
      case 'polygon':
        if (this.poly.closed) this.poly = { points: [], closed: false };
        this.poly.points.push(ll);
        break;
      case 'reach':
        this.reach.point = ll;
        this.onChange();
        break;
      default:
        return;
    }
    this.render();
  }

  onMove(e) {
    this.cursor = e.latlng;
    if (this.mode === 'circle' && this.circle && !this.circle.fixed) {
      this.circle.radius = this.circle.center.distanceTo(e.latlng);
      this.render();
    } else if (this.mode === 'polygon' && this.poly.points.length && !this.poly.closed) {
      this.render();
    }
  }

  onDblClick(e) {
    if (this.mode !== 'polygon') return;
    L.DomEvent.stop(e);
    // The double-click's two clicks added the same corner twice.
    const pts = this.poly.points;
    while (pts.length >= 2 && this.map.latLngToContainerPoint(pts[pts.length - 1]).distanceTo(this.map.latLngToContainerPoint(pts[pts.length - 2])) < 6) {
      pts.pop();
    }
    this.finishPolygon();
  }

  finishPolygon() {
    if (this.poly.points.length >= 3) {
      this.poly.closed = true;
      this.render();
      this.onChange();
    }
  }

  undo() {
    if (this.mode === 'polygon' && this.poly.points.length) {
      this.poly.closed = false;
      this.poly.points.pop();
      this.render();
      this.onChange();
    }
  }

  setRadius(m) {
    if (this.circle && m > 0) {
      this.circle.radius = m;
      this.circle.fixed = true;
      this.render();
      this.onChange();
    }
  }

  /** setReachCircle shows or hides the straight-line circle around the meeting point. */
  setReachCircle(on) {
    if (this.reachCircle === on) return;
    this.reachCircle = on;
    this.render();
  }

  setReach(minutes, mode) {
    this.reach.minutes = minutes;
    this.reach.mode = mode;
    this.render();
    this.onChange();
  }

  /** area returns the API area object for the current mode, or null when none is complete. */
  area() {
    const r6 = (x) => Math.round(x * 1e6) / 1e6;
    switch (this.mode) {
      case 'circle': {
        if (!this.circle || !this.circle.fixed) return null;
        const c = this.unll(this.circle.center);
        return { circle: { lat: r6(c.lat), lng: r6(c.lng), radius_m: Math.round(this.circle.radius) } };
      }
      case 'polygon':
        if (!this.poly.closed) return null;
        return { polygon: this.poly.points.map((p) => this.unll(p)).map((p) => [r6(p.lat), r6(p.lng)]) };
      case 'reach': {
        if (!this.reach.point) return null;
        const p = this.unll(this.reach.point);
        return { reach: { lat: r6(p.lat), lng: r6(p.lng), minutes: this.reach.minutes, mode: this.reach.mode } };
      }
      default:
        return null;
    }
  }

  render() {
    const g = this.layer;
    g.clearLayers();
    const style = { color: '#0d47a1', weight: 2.5, fillColor: '#42a5f5', fillOpacity: 0.15, interactive: false };
    if (this.mode === 'circle' && this.circle) {
      L.circle(this.circle.center, { radius: Math.max(1, this.circle.radius), ...style, dashArray: this.circle.fixed ? null : '6 6' }).addTo(g);
      L.circleMarker(this.circle.center, { radius: 4, color: '#0d47a1', fillOpacity: 1, interactive: false }).addTo(g);
    }
    if (this.mode === 'polygon' && this.poly.points.length) {
      const pts = this.poly.points;
      if (this.poly.closed) L.polygon(pts, style).addTo(g);
      else {
        const line = this.cursor ? pts.concat([this.cursor]) : pts;
        L.polyline(line, { ...style, dashArray: '6 6' }).addTo(g);
      }
      for (const p of pts) L.circleMarker(p, { radius: 4, color: '#0d47a1', fillColor: '#fff', fillOpacity: 1, interactive: false }).addTo(g);
    }
    if (this.mode === 'reach' && this.reach.point) {
      const r = reachRadiusM(this.reach.minutes, this.reach.mode);
      if (this.reachCircle) L.circle(this.reach.point, { radius: r, ...style, dashArray: '8 4' }).addTo(g);
      L.circleMarker(this.reach.point, { radius: 6, color: '#0d47a1', fillColor: '#ffeb3b', fillOpacity: 1, interactive: false }).addTo(g);
    }
  }
}
