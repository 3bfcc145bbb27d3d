// leaflet-loader: load Leaflet (the vendored UMD build, which sets
// window.L) only when a page needs a map, so the resident page stays light;
// and the basemap both pages show.

import { esc } from './api.js';

let loading = null;

export function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = new URL('../vendor/leaflet.css', import.meta.url).href;
    document.head.appendChild(css);
    const s = document.createElement('script');
    s.src = new URL('../vendor/leaflet.js', import.meta.url).href;
    s.onload = () => resolve(window.L);
    s.onerror = () => {
      loading = null;
      reject(new Error('could not load the map'));
    };
    document.head.appendChild(s);
  });
  return loading;
}

/**
 * tileSettings is this browser's own basemap, set in the command center:
 * off (null) unless set. It overrides the server's (GET /api/v1/map).
 */
export function tileSettings() {
  const url = localStorage.getItem('hub.tiles.url') || '';
  if (!url) return null;
  return {
    url,
    attribution: localStorage.getItem('hub.tiles.attrib') || '',
    crs: localStorage.getItem('hub.tiles.crs') === 'gcj02' ? 'gcj02' : 'wgs84',
  };
}

/** basemapCRS is the CRS of the basemap shown: the browser's override's, or the server's. */
export function basemapCRS(info) {
  const s = tileSettings();
  const crs = s ? s.crs : info && info.crs;
  return crs === 'gcj02' ? 'gcj02' : 'wgs84';
}

/**
 * basemapLayers makes the Leaflet tile layers of the basemap shown: the
 * browser's override, or the server's (GET /api/v1/map), base layers
 * first. A URL on this hub (/tiles) takes the token as ?token=, like
 * media; beyond a layer's deepest zoom its tiles are scaled up.
 */
export function basemapLayers(L, info, token) {
  const s = tileSettings();
  const defs = s ? [{ url: s.url, attribution: s.attribution, min_zoom: 0, max_zoom: 19 }] : (info && info.layers) || [];
  return defs
    .filter((l) => !l.overlay)
    .concat(defs.filter((l) => l.overlay))
    .map((l) => {
      const url = l.url.startsWith('/') ? `${l.url}${l.url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : l.url;
      const opts = {
        attribution: esc(l.attribution || ''),
        minZoom: 0,
        maxZoom: 19,
        maxNativeZoom: l.max_zoom || 19,
        minNativeZoom: l.min_zoom || 0,
        crossOrigin: false,
        className: l.overlay ? 'tiles-overlay' : 'tiles-base',
      };
      if (l.subdomains && l.subdomains.length) opts.subdomains = l.subdomains;
      if (l.bounds) opts.bounds = L.latLngBounds([l.bounds[1], l.bounds[0]], [l.bounds[3], l.bounds[2]]);
      return L.tileLayer(url, opts);
    });
}
