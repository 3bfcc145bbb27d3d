// The second hub of web/e2e.sh: an empty store where the tests make
// exactly one village, and a basemap served by hubd from an MBTiles file
// of generated tiles, declared GCJ-02. The command center must show the
// lone village (it once threw "Invalid LatLng object: (NaN, NaN)"), load
// the tiles from /tiles, draw its overlays shifted into GCJ-02 and send
// what the operator draws back in WGS-84.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot, apiAt, sleep, HUB2, HUB2_ADMIN } from './lib.mjs';
import { wgs2gcj, gcj2wgs } from '../src/js/gcj02.js';

if (!HUB2 || !HUB2_ADMIN) throw new Error('HUB2_URL and HUB2_ADMIN_TOKEN are not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
const V = { lat: 29.031, lng: 119.172 }; // the one village, in the generated tiles' county
let browser;
let cmd;
let village;
let tiles = []; // {url, status, type} of every /tiles response

before(async () => {
  browser = await launch();
  const run = Date.now().toString().slice(-7);
  village = (await apiAt(HUB2, HUB2_ADMIN, 'POST', '/api/v1/villages', { name: `独村（E2E ${run}）`, township: '测试镇', center: V })).village;
  const res = await apiAt(HUB2, HUB2_ADMIN, 'POST', '/api/v1/members', {
    name: `独村指挥员${run}`, phone: `+8613${run}55`, role: 'commander', village_id: village.id, home: V,
  });
  cmd = await openPage(browser, `${HUB2}/?token=${res.token}`);
  cmd.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/tiles/')) tiles.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] });
  });
});

after(async () => {
  try {
    if (cmd) assert.deepEqual(cmd.errors, [], 'no script errors on ' + cmd.url());
  } finally {
    await browser?.close();
  }
});

step('one village: the command center shows it, with no script error', async () => {
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.waitForFunction(() => window.hubCommand && window.hubCommand.cmap.villageMarkers.size === 1, null, { timeout: 10000 });
  await cmd.locator('.village-label').filter({ hasText: village.name }).waitFor();
  const view = await cmd.evaluate(() => {
    const c = window.commandMap.getCenter();
    return { lat: c.lat, lng: c.lng, zoom: window.commandMap.getZoom() };
  });
  assert.ok(Number.isFinite(view.lat) && Number.isFinite(view.lng) && Number.isFinite(view.zoom), 'a finite view: ' + JSON.stringify(view));
  assert.ok(Math.abs(view.lat - V.lat) < 0.01 && Math.abs(view.lng - V.lng) < 0.02, 'centred on the village: ' + JSON.stringify(view));
  assert.ok(view.zoom >= 11 && view.zoom <= 16, 'zoom ' + view.zoom);
  assert.deepEqual(cmd.errors, []);
  await shot(cmd, 'one-village');
});

step('MBTiles basemap: the hub serves the tiles (bounded to the file) and the map shows them', async () => {
  await cmd.waitForFunction(() => document.querySelectorAll('#map img.leaflet-tile-loaded').length >= 4, null, { timeout: 10000 });
  // Zoom out and in: every tile asked for is in the file (the layer's bounds), none is a 404.
  for (const z of [11, 13, 15]) {
    await cmd.evaluate(([lat, lng, z]) => void window.commandMap.setView([lat, lng], z, { animate: false }), [V.lat, V.lng, z]);
    await cmd.waitForFunction(
      () => [...document.querySelectorAll('#map img.leaflet-tile')].every((i) => i.classList.contains('leaflet-tile-loaded')),
      null,
      { timeout: 10000 },
    );
  }
  assert.ok(tiles.length >= 8, 'tiles fetched: ' + tiles.length);
  for (const r of tiles) {
    assert.equal(r.status, 200, r.url);
    assert.equal(r.type, 'image/png', r.url);
    assert.match(r.url, /\/tiles\/\d+\/\d+\/\d+\?token=/);
  }
  const shown = await cmd.$$eval('#map img.leaflet-tile-loaded', (is) => is.map((i) => [new URL(i.src).pathname, i.naturalWidth]));
  assert.ok(shown.length >= 4 && shown.every(([p, w]) => p.startsWith('/tiles/') && w === 256), JSON.stringify(shown.slice(0, 3)));
  assert.match(await cmd.locator('.leaflet-control-attribution').textContent(), /测试底图/);
  await shot(cmd, 'mbtiles-basemap');
});

step('GCJ-02 basemap: overlays are drawn shifted, and a clicked meeting point is sent back in WGS-84', async () => {
  const at = await cmd.evaluate(() => {
    const m = [...window.hubCommand.cmap.villageMarkers.values()][0].getLatLng();
    return [m.lat, m.lng];
  });
  const want = wgs2gcj(V.lat, V.lng);
  assert.ok(Math.abs(at[0] - want[0]) < 1e-9 && Math.abs(at[1] - want[1]) < 1e-9, `village drawn at ${at}, want ${want}`);
  assert.ok(Math.abs(at[1] - V.lng) > 0.003, 'and that is not where WGS-84 would put it');

  await cmd.click('#c-modes button[data-mode="reach"]');
  await cmd.evaluate(([lat, lng]) => void window.commandMap.setView([lat, lng], 14, { animate: false }), want);
  // Click 800 m east of the village as the map shows it (the page clicks whole
  // pixels: the point is known to a fraction of a pixel, about 2 m).
  const p = await cmd.evaluate(([lat, lng]) => {
    const m = window.commandMap;
    const c = m.latLngToContainerPoint([lat, lng + 0.008]);
    const r = m.getContainer().getBoundingClientRect();
    const x = Math.round(r.left + c.x);
    const y = Math.round(r.top + c.y);
    const ll = m.containerPointToLatLng([x - r.left, y - r.top]);
    return { x, y, lat: ll.lat, lng: ll.lng };
  }, want);
  const req = cmd.waitForRequest((r) => r.url().endsWith('/api/v1/alerts/preview') && r.method() === 'POST');
  await cmd.mouse.click(p.x, p.y);
  const sent = JSON.parse((await req).postData()).area.reach;
  const back = gcj2wgs(p.lat, p.lng);
  assert.ok(Math.abs(sent.lat - back[0]) < 2e-5 && Math.abs(sent.lng - back[1]) < 2e-5, `sent ${sent.lat},${sent.lng}, want ${back}`);
  assert.ok(Math.abs(sent.lng - p.lng) > 0.003, 'shifted back from the map\'s GCJ-02');
  await cmd.waitForFunction(() => /范围内 \d+ 人/.test(document.querySelector('#c-preview').textContent), null, { timeout: 10000 });
  // The commander lives in the village, 800 m from the point: 15 minutes' walk reaches him.
  assert.equal(await cmd.locator('#c-targeted').textContent(), '1');
  // This hub has no travel network: the reach is a circle, and the page says so.
  await cmd.locator('#c-reach-note:not([hidden])').filter({ hasText: '无路网：按直线距离估算' }).waitFor({ timeout: 5000 });
  await shot(cmd, 'gcj02-reach');
});
