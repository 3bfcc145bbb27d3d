// End-to-end test of a patrol's rounds and visits on the member page (issue
// 16 part 4, docs/API.md v1.6 "patrol rounds, visits and tallies"): the
// patrol sees 待走访, the watched households of its village due for a
// visit (the one watched most closely first, the other village's not),
// records a visit with a note and a photo (the household leaves the list:
// its next visit is a week away), and starts and ends a round with a
// summary; the command's API shows the visit and the round.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, seed, shot, phone, sleep, api, A, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
// A 1x1 PNG: the photo the patrol takes.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
let browser;
let S;
let pat;
let cmd;
let hControl;
let hService;
let hOther;

before(async () => {
  S = await seed();
  browser = await launch();
  const household = async (v, name, watch, ids) =>
    (await api(CMD_TOKEN, 'POST', '/api/v1/households', { village_id: v.id, name, watch, member_ids: ids })).household.id;
  hService = await household(S.va, `李家${S.run}`, 'service', []);
  hControl = await household(S.va, `张家${S.run}`, 'control', [S.resA.id]);
  hOther = await household(S.vb, `乙村王家${S.run}`, 'control', [S.resB.id]);
});

after(async () => {
  try {
    if (pat) assert.deepEqual(pat.errors, [], 'no script errors on the patrol page');
    if (cmd) assert.deepEqual(cmd.errors, [], 'no script errors on the command center');
  } finally {
    await browser?.close();
  }
});

step('a patrol sees its village\'s watched households due for a visit and records one', async () => {
  pat = await openPage(browser, '/m?token=' + S.patA.token, {
    viewport: phone,
    mobile: true,
    geolocation: { latitude: A.lat + 0.003, longitude: A.lng, accuracy: 8 },
  });
  await pat.locator('#conn.conn-online').waitFor();
  const row = (id) => pat.locator(`#visits:not([hidden]) .pv-row[data-household-id="${id}"]`);
  await row(hControl).waitFor({ timeout: 10000 });
  await row(hService).waitFor();
  assert.equal(await pat.locator(`#visits .pv-row[data-household-id="${hOther}"]`).count(), 0, 'the other village is not listed');
  const order = await pat.locator('#visits .pv-row').evaluateAll((els) => els.map((e) => e.dataset.householdId));
  assert.ok(order.indexOf(hControl) < order.indexOf(hService), 'the control household (every 7 days) before the service one (14)');
  assert.match(await row(hControl).textContent(), /从未走访/);
  assert.match(await row(hControl).textContent(), /管控户/);
  await shot(pat, 'visits-due');

  await row(hControl).locator('button[data-pv="open"]').click();
  await pat.fill('#pv-note', '老人身体好，炉具安全');
  await pat.setInputFiles('#pv-photo', { name: 'visit.png', mimeType: 'image/png', buffer: png });
  await pat.locator('#pv-photo-ok').waitFor();
  await shot(pat, 'visits-form');
  await row(hControl).locator('button[data-pv="save"]').click();
  await pat.locator('.toast').filter({ hasText: /已记录对.*的走访/ }).first().waitFor({ timeout: 10000 });
  // Visited: its next visit is a week away, so it leaves the list.
  await row(hControl).waitFor({ state: 'detached', timeout: 10000 });
  assert.equal(await row(hService).count(), 1, 'the service household is still due');
  await shot(pat, 'visits-after');

  const vs = (await api(CMD_TOKEN, 'GET', `/api/v1/visits?household_id=${hControl}`)).visits;
  assert.equal(vs.length, 1);
  assert.equal(vs[0].note, '老人身体好，炉具安全');
  assert.equal(vs[0].member_id, S.patA.id);
  assert.equal(vs[0].photos.length, 1, 'the photo is uploaded with the visit');

  // English.
  await pat.click('#lang');
  await row(hService).filter({ hasText: 'Never visited' }).waitFor();
  await pat.click('#lang');
});

step('a patrol starts a round and ends it with a summary', async () => {
  await pat.selectOption('#rd-kind', 'flood');
  await pat.click('#rd-start');
  await pat.locator('#rd-running').filter({ hasText: '防汛巡查' }).waitFor({ timeout: 10000 });
  await shot(pat, 'round-running');
  // Starting a round turns on the position sharing: the phone's position
  // becomes the round's first track point.
  assert.ok(await pat.locator('#share').isChecked(), 'sharing turned on');
  let open;
  for (let i = 0; i < 50; i++) {
    open = (await api(S.patA.token, 'GET', '/api/v1/rounds/open')).round;
    if (open.points >= 1) break;
    await sleep(200);
  }
  assert.equal(open.kind, 'flood');
  assert.equal(open.points, 1, 'the shared position is on the track');
  await pat.fill('#rd-summary', '巡查河堤两处，无隐患');
  await pat.click('#rd-end');
  await pat.locator('#rd-start').waitFor({ timeout: 10000 });
  const got = (await api(CMD_TOKEN, 'GET', `/api/v1/rounds/${open.id}`)).round;
  assert.equal(got.summary, '巡查河堤两处，无隐患');
  assert.ok(got.ended_at, 'ended');
  assert.equal((await api(S.patA.token, 'GET', '/api/v1/rounds/open')).round, null);
  await shot(pat, 'round-ended');
});

step('the command center counts the village\'s round and visit in its tallies and names an emergency', async () => {
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.click('.tabs button[data-tab="tallies"]');
  await cmd.click('#tl-by button[data-by="dates"]');
  await cmd.selectOption('#tl-village', S.va.id);
  await cmd.click('#tl-go');
  const row = cmd.locator(`#tl-table tr[data-village-id="${S.va.id}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.locator('td[data-col="rounds"]').textContent(), '1');
  assert.equal(await row.locator('td[data-col="visits"]').textContent(), '1');
  assert.equal(await cmd.locator('#tl-table tbody tr').count(), 1, 'only the village asked for');
  // The round's track on the map.
  await cmd.click('#tl-map');
  await cmd.locator('#tl-map[data-drawn="1"]').waitFor({ timeout: 10000 });
  await shot(cmd, 'tallies-dates');

  // A named emergency period covering today, then its tallies.
  await cmd.click('#tl-by button[data-by="emergency"]');
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  await cmd.fill('#tl-em-name', `冰冻演练${S.run}`);
  await cmd.fill('#tl-em-from', today);
  await cmd.fill('#tl-em-to', today);
  await cmd.click('#tl-em-add');
  await cmd.locator('.toast').filter({ hasText: '已新建应急时段' }).first().waitFor({ timeout: 10000 });
  await cmd.click('#tl-go');
  await cmd.locator(`#tl-table tr[data-village-id="${S.va.id}"] td[data-col="visits"]`).filter({ hasText: '1' }).waitFor({ timeout: 10000 });
  await shot(cmd, 'tallies-emergency');
});
