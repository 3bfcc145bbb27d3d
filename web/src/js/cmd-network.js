// cmd-network: the travel network's layer on the command center's map
// (GET /api/v1/geo/network.geojson, docs/API.md v1.3): roads by class
// width, water in blue, bridges highlighted, fords as blue dots and named
// places as small labels. Tags are OSM's, in the properties or in a
// `tags` object inside them, as the hub takes them.

import { esc } from './api.js';

const L = window.L;

// Road widths in pixels by OSM highway class; anything else is a path.
const roadWidth = {
  motorway: 5, trunk: 4.5, primary: 4, secondary: 3.4, tertiary: 2.8,
  motorway_link: 2.5, trunk_link: 2.5, primary_link: 2.4, secondary_link: 2.2, tertiary_link: 2,
  unclassified: 2.2, residential: 2, living_street: 1.8, service: 1.5, road: 1.8,
};
const roadColour = { motorway: '#e65100', trunk: '#ef6c00', primary: '#f57c00', secondary: '#ffa000', tertiary: '#8d6e63' };
const waterLine = '#1e88e5';
const bridgeColour = '#d81b60';

function tagsOf(f) {
  const p = (f && f.properties) || {};
  return p.tags && typeof p.tags === 'object' ? { ...p, ...p.tags } : p;
}

const yes = (v) => v !== undefined && v !== null && v !== '' && v !== 'no' && v !== false;

function isWater(t) {
  return t.kind === 'water' || yes(t.waterway) || t.natural === 'water' || t.landuse === 'reservoir';
}

/** style is the Leaflet path style of a network feature. */
function style(f) {
  const t = tagsOf(f);
  const area = f.geometry && /Polygon$/.test(f.geometry.type);
  if (isWater(t)) {
    if (area) return { color: waterLine, weight: 1, fillColor: '#90caf9', fillOpacity: 0.55, interactive: false };
    const big = t.waterway === 'river' || t.waterway === 'canal';
    return { color: waterLine, weight: big ? 3.5 : 1.8, opacity: 0.9, interactive: false };
  }
  if (t.highway) {
    const w = roadWidth[t.highway] || 1.2;
    if (yes(t.bridge)) return { color: bridgeColour, weight: w + 2.5, opacity: 1, interactive: false, className: 'net-bridge' };
    const path = !roadWidth[t.highway];
    return { color: roadColour[t.highway] || (path ? '#795548' : '#757575'), weight: w, opacity: 0.85, dashArray: path ? '4 3' : null, interactive: false };
  }
  return { color: '#9e9e9e', weight: 1, interactive: false };
}

/**
 * networkLayer draws a network FeatureCollection. toLL turns a WGS-84
 * position into what the map draws (a GCJ-02 basemap shifts it); on
 * (pane, renderer) says where every part goes, under the alerts.
 */
export function networkLayer(fc, toLL, on) {
  const labels = L.layerGroup();
  const opts = (filter) => ({
    filter,
    coordsToLatLng: (c) => L.latLng(toLL(c[1], c[0])),
    style: (f) => ({ ...style(f), ...on }),
    pointToLayer: (f, ll) => {
      const t = tagsOf(f);
      if (t.place && t.name) {
        L.marker(ll, {
          interactive: false,
          keyboard: false,
          pane: on.pane,
          icon: L.divIcon({ className: 'place-label', html: esc(t.name), iconSize: null }),
        }).addTo(labels);
        return L.circleMarker(ll, { radius: 2, color: '#37474f', weight: 1, fillOpacity: 1, interactive: false, ...on });
      }
      if (yes(t.ford)) return L.circleMarker(ll, { radius: 4, color: waterLine, weight: 2, fillColor: '#fff', fillOpacity: 1, interactive: false, ...on });
      return L.circleMarker(ll, { radius: 1.5, color: '#9e9e9e', weight: 1, interactive: false, ...on });
    },
  });
  const point = (f) => f.geometry && /Point$/.test(f.geometry.type);
  // Drawn in this order: water under the roads, bridges over them, points on top.
  return L.layerGroup([
    L.geoJSON(fc, opts((f) => !point(f) && isWater(tagsOf(f)))),
    L.geoJSON(fc, opts((f) => !point(f) && !isWater(tagsOf(f)) && !yes(tagsOf(f).bridge))),
    L.geoJSON(fc, opts((f) => !point(f) && !isWater(tagsOf(f)) && yes(tagsOf(f).bridge))),
    L.geoJSON(fc, opts(point)),
    labels,
  ]);
}

/** outlineLatLngs turns a GeoJSON Polygon or MultiPolygon into Leaflet's nested latlngs, through toLL. */
export function outlineLatLngs(geom, toLL) {
  if (!geom || !geom.coordinates) return null;
  const ring = (r) => r.map((c) => toLL(c[1], c[0]));
  if (geom.type === 'Polygon') return geom.coordinates.map(ring);
  if (geom.type === 'MultiPolygon') return geom.coordinates.map((p) => p.map(ring));
  return null;
}
