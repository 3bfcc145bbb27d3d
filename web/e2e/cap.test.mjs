// Exercises and updates in place (docs/API.md v1.6, issue 14): an
// exercise reaches the patrol marked 演练 and never the resident; the
// command center edits a live alert and the resident's page shows the new
// text at once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot, phone, sleep, seed, api, CMD_TOKEN, A } from './lib.mjs';

let browser;
let S;
let cmd;
let res;
let pat;

const step = (name, fn) => test(name, { timeout: 60000 }, fn);

before(async () => {
  S = await seed();
  browser = await launch();
});

after(async () => {
  try {
    for (const p of [cmd, res, pat]) if (p) assert.deepEqual(p.errors, [], 'no script errors on ' + p.url());
  } finally {
    await browser?.close();
  }
});

async function member(m, at) {
  const page = await openPage(browser, '/m?token=' + m.token, {
    viewport: phone,
    mobile: true,
    geolocation: { latitude: at.lat, longitude: at.lng, accuracy: 12 },
  });
  await page.locator('#conn.conn-online').waitFor();
  return page;
}

const circle = (radius) => ({ circle: { lat: A.lat, lng: A.lng, radius_m: radius } });

step('an exercise: the patrol sees it marked 演练, the resident never sees it', async () => {
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  assert.equal(await cmd.locator('#c-exercise').count(), 1, 'the compose pane offers 演练');
  res = await member(S.resA, A);
  pat = await member(S.patA, { lat: A.lat + 0.003, lng: A.lng });
  const title = `防汛演练 E2E ${S.run}`;
  const out = await api(CMD_TOKEN, 'POST', '/api/v1/alerts', {
    kind: 'warning', severity: 'severe', title, body: '演练：请网格员到集合点', area: circle(2000), exercise: true,
  });
  assert.equal(out.alert.exercise, true);
  await pat.locator('#overlay:not([hidden]) #ov-title').filter({ hasText: title }).waitFor({ timeout: 10000 });
  await pat.locator('#overlay [data-exercise]').filter({ hasText: '演练' }).waitFor();
  await shot(pat, 'patrol-exercise');
  await pat.click('#overlay button[data-resp="received"]');
  await pat.locator('#overlay').waitFor({ state: 'hidden' });
  await pat.locator('.alert-card [data-exercise]').waitFor();
  await cmd.click('.tabs button[data-tab="alerts"]');
  await cmd.locator('.acard').filter({ hasText: title }).locator('[data-exercise]').waitFor({ timeout: 10000 });
  await shot(cmd, 'command-exercise');
  await sleep(800);
  assert.equal(await res.locator('#overlay').isHidden(), true, 'the resident sees no exercise');
  assert.equal(await res.locator('.alert-card').filter({ hasText: title }).count(), 0);
});

step('edit a live alert: the resident sees the new text at once, the command center too', async () => {
  const title = `山洪预警 E2E ${S.run}`;
  const out = await api(CMD_TOKEN, 'POST', '/api/v1/alerts', {
    kind: 'warning', severity: 'severe', title, body: '请注意', area: circle(2000),
  });
  await res.locator('#overlay:not([hidden]) #ov-title').filter({ hasText: title }).waitFor({ timeout: 10000 });
  await res.click('#overlay button[data-resp="safe"]');
  await res.locator('#overlay').waitFor({ state: 'hidden' });

  await cmd.click('.tabs button[data-tab="alerts"]');
  const card = cmd.locator('.acard').filter({ hasText: title });
  await card.waitFor({ timeout: 10000 });
  await card.locator('button[data-act="edit"]').click();
  const dlg = cmd.locator('#edit-modal');
  await dlg.waitFor();
  const newTitle = `山洪预警（升级）E2E ${S.run}`;
  await dlg.locator('input[name="title"]').fill(newTitle);
  await dlg.locator('textarea[name="body"]').fill('水位上涨，请立即转移到高处');
  await dlg.locator('select[name="severity"]').selectOption('extreme');
  await shot(cmd, 'edit-dialog');
  await dlg.locator('button[type="submit"]').click();
  await dlg.waitFor({ state: 'detached' });
  await cmd.locator('.acard').filter({ hasText: newTitle }).waitFor({ timeout: 10000 });

  // The member page applies the alert_update live: shown again, marked updated, the answer kept.
  await res.locator('#overlay:not([hidden]) #ov-title').filter({ hasText: newTitle }).waitFor({ timeout: 10000 });
  await res.locator('#overlay').filter({ hasText: '已更新' }).waitFor();
  await shot(res, 'resident-updated');
  await res.click('#overlay [data-close]');
  const rc = res.locator('.alert-card').filter({ hasText: newTitle });
  await rc.waitFor();
  assert.match(await rc.textContent(), /水位上涨/);
  assert.match(await rc.textContent(), /已回复：安全/);
  const got = await api(CMD_TOKEN, 'GET', '/api/v1/alerts/' + out.alert.id);
  assert.equal(got.alert.title, newTitle);
  assert.equal(got.alert.severity, 'extreme');
  assert.equal(got.progress.acked.safe, 1, 'the answer is kept');
});
