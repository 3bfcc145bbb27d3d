// A member who opens the member page in more places than the hub keeps
// connections for (5 per member, docs/API.md v1.4) loses the oldest: that
// page says it is open elsewhere and does not reconnect by itself (which
// would close another, and so on between tabs) until it is tapped.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot, phone, sleep, seed } from './lib.mjs';

let browser;
let pages = [];
let s;

before(async () => {
  browser = await launch();
  s = await seed();
});

after(async () => {
  for (const p of pages) await p.close().catch(() => {});
  await browser?.close();
});

const status = (p) => p.evaluate(() => document.getElementById('conn').className);

test('the oldest of six pages is replaced and stays quiet until tapped', { timeout: 90000 }, async () => {
  const url = '/m?token=' + s.resA.token;
  const first = await openPage(browser, url, { viewport: phone, mobile: true });
  pages.push(first);
  await first.waitForFunction(() => document.getElementById('conn').className.includes('conn-online'), null, { timeout: 20000 });
  for (let i = 0; i < 5; i++) {
    const p = await openPage(browser, url, { viewport: phone, mobile: true });
    pages.push(p);
    await p.waitForFunction(() => document.getElementById('conn').className.includes('conn-online'), null, { timeout: 20000 });
  }
  await first.waitForFunction(() => document.getElementById('conn').className.includes('conn-replaced'), null, { timeout: 20000 });
  await shot(first, 'opened-elsewhere');
  // It stays replaced (no reconnect loop), and the five others stay online.
  await sleep(4000);
  assert.match(await status(first), /conn-replaced/);
  for (const p of pages.slice(1)) assert.match(await status(p), /conn-online/);
  // A tap reconnects it (and the hub closes the oldest of the others).
  await first.click('#conn');
  await first.waitForFunction(() => document.getElementById('conn').className.includes('conn-online'), null, { timeout: 20000 });
});

// A village name is text wherever a page shows it: one named like an HTML
// image tag shows as those characters on the member page's pick map, and
// the browser fetches nothing for it (issue 13: "an outside image was
// fetched").
test('a village name that looks like HTML is shown as text on the pick map', { timeout: 60000 }, async () => {
  const { api, CMD_TOKEN, A } = await import('./lib.mjs');
  const run = Date.now().toString().slice(-7);
  const name = `<img src="/xss-${run}.png">恶意村`;
  const v = (await api(CMD_TOKEN, 'POST', '/api/v1/villages', { name, township: '测试镇', center: A })).village;
  const res = await api(CMD_TOKEN, 'POST', '/api/v1/members', { name: `XSS测试${run}`, phone: `+8615${run}99`, role: 'resident', village_id: v.id, home: A });
  const p = await openPage(browser, '/m?token=' + res.token, { viewport: phone, mobile: true });
  pages.push(p);
  const fetched = [];
  p.on('request', (r) => r.url().includes(`xss-${run}`) && fetched.push(r.url()));
  await p.waitForFunction(() => document.getElementById('conn').className.includes('conn-online'), null, { timeout: 20000 });
  await p.click('.m-tabs [data-tab="report"]');
  await p.click('#pick');
  // Wait for this village's tooltip (others may be drawn first).
  await p.waitForFunction(
    (r) => [...document.querySelectorAll('#pick-map .leaflet-tooltip')].some((e) => e.textContent.includes('xss-' + r)),
    run,
    { timeout: 20000 },
  );
  const tips = await p.$$eval('#pick-map .leaflet-tooltip', (els) => els.map((e) => ({ text: e.textContent, imgs: e.querySelectorAll('img').length })));
  const mine = tips.find((x) => x.text.includes('恶意村'));
  assert.ok(mine, 'the village tooltip is shown: ' + JSON.stringify(tips));
  assert.equal(mine.imgs, 0, 'no <img> element made from the name');
  assert.ok(mine.text.includes('<img'), 'the name is shown as text: ' + mine.text);
  await sleep(500);
  assert.deepEqual(fetched, [], 'nothing fetched for the name');
  assert.deepEqual(p.errors, []);
});
