// leaflet-loader: load Leaflet (the vendored UMD build, which sets
// window.L) only when a page needs a map, so the resident page stays light.

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
