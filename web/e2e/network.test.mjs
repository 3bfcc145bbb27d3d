// The travel network of the demo county (hubd -demo seeds it: a river
// flowing east-west through 29.03 N 119.17 E with bridges kilometres
// apart, geo.DemoNetwork): the command center draws it as a layer, a reach
// preview near the river is its isochrone (the bank across the water is
// out of reach, though a circle would hold it), a reach outside it says it
// is a straight-line estimate, a patrol sets its own travel mode, a
// mobilization lists its responders by computed ETA, and a report near the
// river is named by its place.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot, phone, sleep, api, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
const C = { lat: 29.03, lng: 119.17 }; // the demo network's centre
const mPerDeg = (6371008.8 * Math.PI) / 180;
/** at is the point x metres east and y metres north of C. */
const at = (x, y) => ({ lat: C.lat + y / mPerDeg, lng: C.lng + x / (mPerDeg * Math.cos((C.lat * Math.PI) / 180)) });
/** riverY is the river's centreline (metres north of C) at x, as geo.DemoNetwork draws it. */
const riverY = (x) => 300 * Math.sin(x / 3000);
// A meeting point on the north bank, 2 km from the nearest bridges.
const M = at(1000, riverY(1000) + 400);
const north = at(1000, riverY(1000) + 800); // 400 m further from the water: in reach
const across = at(1000, riverY(1000) - 400); // 800 m away across the river: not in reach

let browser;
let cmd;
let pat; // the patrol's page
let run;
let village;
let patrol; // {id, name, token}: sets its mode to motorbike
let walker; // a second patrol, without a mode (walks), further from the meeting point

before(async () => {
  browser = await launch();
  run = Date.now().toString().slice(-7);
  village = (await api(CMD_TOKEN, 'POST', '/api/v1/villages', { name: `江边村（E2E ${run}）`, township: '测试镇', center: at(1000, riverY(1000) + 900) })).village;
  const res = await api(CMD_TOKEN, 'POST', '/api/v1/members', {
    name: `江边网格员${run}`, phone: `+8613${run}71`, role: 'patrol', village_id: village.id, home: at(1000, riverY(1000) + 700), address: '江边村3组12号',
  });
  patrol = { ...res.member, token: res.token };
  walker = (await api(CMD_TOKEN, 'POST', '/api/v1/members', {
    name: `江边步行网格员${run}`, phone: `+8613${run}72`, role: 'patrol', village_id: village.id, home: at(1000, riverY(1000) + 1000),
  })).member;
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
});

after(async () => {
  try {
    for (const p of [cmd, pat]) if (p) assert.deepEqual(p.errors, [], 'no script errors on ' + p.url());
  } finally {
    await browser?.close();
  }
});

/** clickMap clicks a WGS-84 point of the command center's map at zoom z. */
async function clickMap(p, z = 14) {
  await cmd.evaluate(([lat, lng, z]) => void window.commandMap.setView([lat, lng], z, { animate: false }), [p.lat, p.lng, z]);
  const xy = await cmd.evaluate(([lat, lng]) => {
    const m = window.commandMap;
    const c = m.latLngToContainerPoint(window.hubCommand.cmap.ll(lat, lng));
    const r = m.getContainer().getBoundingClientRect();
    return { x: r.left + c.x, y: r.top + c.y };
  }, [p.lat, p.lng]);
  await cmd.mouse.click(xy.x, xy.y);
}

step('travel network: /api/v1/map says there is one, and the map draws it as a layer', async () => {
  const info = await api(CMD_TOKEN, 'GET', '/api/v1/map');
  assert.equal(info.network, true, 'network in ' + JSON.stringify(info));
  await cmd.waitForFunction(() => window.hubCommand.cmap.network && window.hubCommand.cmap.network.loaded, null, { timeout: 10000 });
  const n = await cmd.evaluate(() => {
    let k = 0;
    window.hubCommand.cmap.network.eachLayer(function count(l) {
      if (l.eachLayer) l.eachLayer(count);
      else k++;
    });
    return k;
  });
  assert.ok(n > 20, 'network features drawn: ' + n);
  assert.equal(await cmd.locator('.leaflet-control-layers-overlays label').filter({ hasText: '路网' }).count(), 1, 'a layer switch for it');
  await cmd.evaluate(([lat, lng]) => void window.commandMap.setView([lat, lng], 14, { animate: false }), [M.lat, M.lng]);
  await cmd.locator('.place-label').first().waitFor({ state: 'attached' });
  await sleep(300);
  await shot(cmd, 'network-layer');
});

step('reach near the river: the preview is the network\'s isochrone, and the far bank is out of it', async () => {
  await cmd.click('.tabs button[data-tab="compose"]');
  await cmd.click('#c-modes button[data-mode="reach"]');
  await cmd.selectOption('#c-reach-mode', 'walk');
  await cmd.fill('#c-reach-min', '15');
  await cmd.dispatchEvent('#c-reach-min', 'change');
  await clickMap(M);
  await cmd.locator('#c-reach-desc').filter({ hasText: '步行 15 分钟可达（按路网计算）' }).waitFor({ timeout: 10000 });
  assert.equal(await cmd.locator('#c-reach-note').isHidden(), true, 'no straight-line note');
  const shape = await cmd.evaluate(
    ([n, a]) => {
      const cm = window.hubCommand.cmap;
      const polys = cm.layers.preview.getLayers().filter((l) => (l.options.className || '').includes('preview-outline'));
      const circles = cm.layers.draw.getLayers().filter((l) => l instanceof window.L.Circle);
      // Ray casting over every ring (holes count as outside).
      const inside = (p) => {
        const ll = cm.ll(p.lat, p.lng);
        let inn = false;
        const walk = (x) => {
          if (Array.isArray(x) && x.length && x[0] && typeof x[0].lat === 'number') {
            for (let i = 0, j = x.length - 1; i < x.length; j = i++) {
              const [yi, xi, yj, xj] = [x[i].lat, x[i].lng, x[j].lat, x[j].lng];
              if (yi > ll[0] !== yj > ll[0] && ll[1] < ((xj - xi) * (ll[0] - yi)) / (yj - yi) + xi) inn = !inn;
            }
          } else if (Array.isArray(x)) x.forEach(walk);
        };
        polys.forEach((p) => walk(p.getLatLngs()));
        return inn;
      };
      return { outlines: polys.length, circles: circles.length, north: inside(n), across: inside(a) };
    },
    [north, across],
  );
  assert.deepEqual(shape, { outlines: 1, circles: 0, north: true, across: false });
  await cmd.waitForFunction(() => /范围内 \d+ 人/.test(document.querySelector('#c-preview').textContent), null, { timeout: 10000 });
  await shot(cmd, 'reach-isochrone');
});

step('reach outside the network: a circle, and the page says it is a straight-line estimate', async () => {
  await clickMap(at(0, 30000), 12); // 30 km north: past the network's edge
  await cmd.locator('#c-reach-note:not([hidden])').filter({ hasText: '按直线距离估算' }).waitFor({ timeout: 10000 });
  assert.match(await cmd.locator('#c-reach-note').textContent(), /不在路网范围内/);
  await cmd.locator('#c-reach-desc').filter({ hasText: '半径约 1.3 km' }).waitFor();
  assert.equal(await cmd.evaluate(() => window.hubCommand.cmap.layers.draw.getLayers().filter((l) => l instanceof window.L.Circle).length), 1);
  await cmd.click('#c-clear');
});

step('travel mode: a patrol sets its own on its page, and the hub keeps it', async () => {
  pat = await openPage(browser, '/m?token=' + patrol.token, { viewport: phone, mobile: true, geolocation: { latitude: M.lat, longitude: M.lng, accuracy: 10 } });
  await pat.locator('#conn.conn-online').waitFor();
  await pat.locator('#travel:not([hidden])').waitFor();
  assert.equal(await pat.inputValue('#travel-mode'), '');
  const patched = pat.waitForResponse((r) => r.url().endsWith('/api/v1/members/' + patrol.id) && r.request().method() === 'PATCH');
  await pat.selectOption('#travel-mode', 'motorbike');
  assert.equal((await patched).status(), 200);
  const { member } = await api(CMD_TOKEN, 'GET', '/api/v1/members/' + patrol.id);
  assert.equal(member.travel_mode, 'motorbike');
  await pat.reload();
  await pat.locator('#conn.conn-online').waitFor();
  await pat.waitForFunction(() => document.querySelector('#travel-mode').value === 'motorbike');
  await shot(pat, 'patrol-travel-mode');
  // A position fix (the report tab asks for one): the page can say how far things are.
  await pat.click('.m-tabs button[data-tab="report"]');
  await pat.locator('#where.ok').waitFor({ timeout: 10000 });
  await pat.click('.m-tabs button[data-tab="alerts"]');
});

step('mobilization over a reach: the roster orders responders by computed ETA, with their modes', async () => {
  const title = `江边集结 E2E ${run}`;
  await cmd.click('.tabs button[data-tab="compose"]');
  await cmd.selectOption('#c-kind', 'mobilization'); // patrols only, reach
  await cmd.locator('#c-modes button.active[data-mode="reach"]').waitFor();
  await cmd.fill('#c-title', title);
  await clickMap(M);
  await cmd.waitForFunction(() => Number(document.querySelector('#c-targeted')?.textContent) >= 1, null, { timeout: 10000 });
  await cmd.click('#c-send');
  await cmd.locator('#modal:not([hidden])').waitFor();
  await cmd.click('#modal-ok');
  const card = cmd.locator('.acard').filter({ hasText: title });
  await card.waitFor({ timeout: 10000 });
  const li = card.locator('.ro-list li').filter({ hasText: patrol.name });
  await li.waitFor({ timeout: 10000 });
  assert.match(await li.textContent(), /摩托车\/电动车/);
  assert.match(await li.locator('.eta-computed').textContent(), /^约 [\d.]+ 分钟$/);
  assert.match(await li.textContent(), /江边村（E2E \d+）.*江边村3组12号/);
  await card.locator('.ro-list li').filter({ hasText: walker.name }).waitFor();
  const etas = await card.locator('.ro-list .eta-computed').allTextContents();
  const nums = etas.map((s) => Number(s.match(/[\d.]+/)[0]));
  assert.ok(nums.length >= 2, 'both patrols have an ETA: ' + etas);
  assert.deepEqual(nums, [...nums].sort((a, b) => a - b), 'ordered by ETA: ' + nums);
  const names = await card.locator('.ro-list li .name').allTextContents();
  assert.ok(names.indexOf(patrol.name) < names.indexOf(walker.name), 'the nearer motorbike first: ' + names);

  // The patrol answers "coming" in 10 minutes: both ETAs side by side.
  await pat.locator('#overlay:not([hidden]) #ov-title').filter({ hasText: title }).waitFor({ timeout: 10000 });
  await pat.click('#overlay button[data-resp="coming"]');
  await pat.click('#overlay button[data-eta="10"]');
  const co = card.locator('.co-list li').filter({ hasText: patrol.name });
  await co.waitFor({ timeout: 10000 });
  assert.match(await co.textContent(), /本人回复 10 分钟到/);
  assert.match(await co.textContent(), /约 [\d.]+ 分钟/);
  await card.scrollIntoViewIfNeeded();
  await shot(cmd, 'mobilization-roster');
  // The alert card on the patrol's page says how far the meeting point is.
  await pat.locator('.alert-card .place').filter({ hasText: /集合点离你 \d+ m/ }).waitFor();

  const { alerts } = await api(CMD_TOKEN, 'GET', '/api/v1/alerts?status=active');
  for (const a of alerts.filter((a) => a.title === title)) await api(CMD_TOKEN, 'POST', `/api/v1/alerts/${a.id}/cancel`);
});

step('places: a report by the river is named by its village and the nearest road, river or place', async () => {
  const { report } = await api(patrol.token, 'POST', '/api/v1/reports', { kind: 'flood', text: `江水漫堤 E2E ${run}`, lat: M.lat, lng: M.lng });
  assert.ok(report.place && report.place.name, 'place in ' + JSON.stringify(report));
  await cmd.click('.tabs button[data-tab="reports"]');
  const card = cmd.locator(`.rcard[data-report-id="${report.id}"]`);
  await card.waitFor({ timeout: 10000 });
  const place = await card.locator('.rplace').textContent();
  assert.ok(place.startsWith(village.name + ' · ' + report.place.name), place);
  await shot(cmd, 'report-place');
  await pat.click('.m-tabs button[data-tab="report"]');
  const mine = pat.locator(`#my-reports [data-report-id="${report.id}"] .place`);
  await mine.waitFor({ timeout: 10000 });
  assert.match(await mine.textContent(), new RegExp(`${report.place.name} · 离你 \\d+ m`));
});
