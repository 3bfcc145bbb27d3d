// gcj02: WGS-84 <-> GCJ-02, the offset coordinates of Chinese web maps
// (Amap/高德 and others). The hub stores WGS-84 (docs/API.md); on a GCJ-02
// basemap the command center shifts what it draws into GCJ-02 and what the
// operator draws back to WGS-84 before sending it.
//
// The forward transform is the public one every implementation shares
// (e.g. eviltransform), with its rectangle "outside China: no shift". The
// inverse has no closed form: it iterates the forward one until the error
// is below 1e-9 degrees (a tenth of a millimetre).

const a = 6378245.0; // Krasovsky 1940 semi-major axis, as GCJ-02 uses it
const ee = 0.00669342162296594323; // its first eccentricity squared
const PI = Math.PI;

/** outOfChina is the usual rectangle outside of which GCJ-02 equals WGS-84. */
export function outOfChina(lat, lng) {
  return lng < 72.004 || lng > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function tLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * PI) + 320 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function tLng(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
  return r;
}

/** wgs2gcj shifts a WGS-84 point into GCJ-02: [lat, lng]. */
export function wgs2gcj(lat, lng) {
  if (outOfChina(lat, lng)) return [lat, lng];
  let dLat = tLat(lng - 105.0, lat - 35.0);
  let dLng = tLng(lng - 105.0, lat - 35.0);
  const radLat = (lat / 180.0) * PI;
  let magic = Math.sin(radLat);
  magic = 1 - ee * magic * magic;
  const sq = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((a * (1 - ee)) / (magic * sq)) * PI);
  dLng = (dLng * 180.0) / ((a / sq) * Math.cos(radLat) * PI);
  return [lat + dLat, lng + dLng];
}

/** gcj2wgs is the inverse of wgs2gcj: [lat, lng], by iteration. */
export function gcj2wgs(lat, lng) {
  if (outOfChina(lat, lng)) return [lat, lng];
  let wLat = lat;
  let wLng = lng;
  for (let i = 0; i < 30; i++) {
    const [gLat, gLng] = wgs2gcj(wLat, wLng);
    const eLat = gLat - lat;
    const eLng = gLng - lng;
    wLat -= eLat;
    wLng -= eLng;
    if (Math.abs(eLat) < 1e-9 && Math.abs(eLng) < 1e-9) break;
  }
  return [wLat, wLng];
}
