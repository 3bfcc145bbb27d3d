// Unit checks of the WGS-84 <-> GCJ-02 transform the command center uses
// on a GCJ-02 basemap (src/js/gcj02.js), in Node: no browser needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wgs2gcj, gcj2wgs, outOfChina } from '../src/js/gcj02.js';

// The published test pairs of eviltransform (WGS-84 -> GCJ-02).
const pairs = [
  [[31.1774276, 121.5272106], [31.17530398364597, 121.531541859215]], // Shanghai
  [[22.543847, 113.912316], [22.540796131694766, 113.9171764808363]], // Shenzhen
  [[39.911954, 116.377817], [39.91334545536069, 116.38404722455657]], // Beijing
];

const near = (got, want, tol, what) =>
  assert.ok(Math.abs(got[0] - want[0]) < tol && Math.abs(got[1] - want[1]) < tol, `${what}: got ${got}, want ${want} (±${tol})`);

test('gcj02: the published pairs, forward and back', () => {
  for (const [w, g] of pairs) {
    near(wgs2gcj(...w), g, 1e-9, 'wgs2gcj ' + w);
    near(gcj2wgs(...g), w, 1e-6, 'gcj2wgs ' + g);
  }
});

test('gcj02: round trips across the county and China stay under 1e-6 degrees', () => {
  for (let lat = 18.5; lat < 53; lat += 2.7) {
    for (let lng = 74; lng < 135; lng += 3.1) {
      near(gcj2wgs(...wgs2gcj(lat, lng)), [lat, lng], 1e-6, `round trip ${lat},${lng}`);
    }
  }
  // The demo county: the shift is a few hundred metres, mostly east.
  const [gl, gn] = wgs2gcj(29.03, 119.17);
  assert.ok(gl - 29.03 < -0.001 && gl - 29.03 > -0.004, 'lat shift ' + (gl - 29.03));
  assert.ok(gn - 119.17 > 0.003 && gn - 119.17 < 0.007, 'lng shift ' + (gn - 119.17));
  near(gcj2wgs(gl, gn), [29.03, 119.17], 1e-6, 'demo county');
});

test('gcj02: outside China nothing moves', () => {
  for (const p of [[48.85, 2.35], [35.681236, 139.767125], [-33.86, 151.2], [0, 0], [64.0464, -16.1776]]) {
    assert.ok(outOfChina(...p), 'outside ' + p);
    assert.deepEqual(wgs2gcj(...p), p);
    assert.deepEqual(gcj2wgs(...p), p);
  }
  assert.ok(!outOfChina(29.03, 119.17));
});
