// Issue 14 (docs/API.md v1.6): the alert composer starts from a template
// (a built-in one, and the county's own), and the command center's audit
// tab lists the trail with before and after, filters it and exports it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, openPage, shot, seed, api, CMD_TOKEN } from './lib.mjs';

let browser;
let cmd;
let s;
let mine;

before(async () => {
  browser = await launch();
  s = await seed();
  mine = (
    await api(CMD_TOKEN, 'POST', '/api/v1/templates', {
      name: `水库泄洪${s.run}`, kind: 'mobilization', severity: 'extreme', title: `水库泄洪预警${s.run}`,
      body: '下游巡查员立即到岗', expiry_hours: 5, roles: ['patrol'],
    })
  ).template;
});

after(async () => {
  await cmd?.close().catch(() => {});
  await browser?.close();
});

const val = (id) => cmd.evaluate((id) => document.getElementById(id).value, id);

test('the composer starts from a built-in template and from the county\'s own', { timeout: 60000 }, async () => {
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.locator('#c-template-row:not([hidden])').waitFor({ timeout: 10000 });
  const flood = (await api(CMD_TOKEN, 'GET', '/api/v1/templates/landslide')).template;
  await cmd.selectOption('#c-template', 'landslide');
  assert.equal(await val('c-title'), flood.title);
  assert.equal(await val('c-body'), flood.body);
  assert.equal(await val('c-kind'), 'warning');
  assert.equal(await val('c-severity'), 'severe');
  assert.equal(await val('c-expires'), '24');
  const checked = () => cmd.evaluate(() => [...document.querySelectorAll('#c-roles input:checked')].map((i) => i.value));
  assert.deepEqual(await checked(), ['resident', 'patrol', 'cadre', 'commander'], 'a template for every role checks them all');
  await shot(cmd, 'template-landslide');

  await cmd.selectOption('#c-template', mine.id);
  assert.equal(await val('c-title'), mine.title);
  assert.equal(await val('c-kind'), 'mobilization');
  assert.equal(await val('c-severity'), 'extreme');
  assert.equal(await val('c-expires'), '5', 'an expiry the list lacks is added');
  assert.deepEqual(await checked(), ['patrol']);
  assert.equal(await val('c-voice'), '300', 'extreme: the voice call default follows the severity');
  await shot(cmd, 'template-own');
  assert.deepEqual(cmd.errors, []);
});

test('the audit tab lists the trail with before and after, filters and exports it', { timeout: 60000 }, async () => {
  // A change with a before and after: the resident renamed.
  const newName = `甲村村民张三改${s.run}`;
  await api(CMD_TOKEN, 'PATCH', '/api/v1/members/' + s.resA.id, { name: newName });
  await cmd.click('.tabs button[data-tab="audit"]');
  await cmd.locator('#au-rows .au-row').first().waitFor({ timeout: 10000 });
  await cmd.fill('#au-target', s.resA.id);
  await cmd.fill('#au-action', 'PATCH');
  await cmd.click('#au-filters button[type="submit"]');
  const row = cmd.locator('#au-rows .au-row[data-route="PATCH /api/v1/members/{id}"]').first();
  await row.waitFor({ timeout: 10000 });
  // The filtered list replaces the whole one when its read comes back:
  // wait for that, not for the first matching row (the unfiltered list
  // holds the same change among others).
  await cmd.waitForFunction(() => document.querySelectorAll('#au-rows .au-row').length === 1, null, { timeout: 10000 })
    .catch(() => {});
  assert.equal(await cmd.locator('#au-rows .au-row').count(), 1, 'the filter leaves the one change');
  assert.match(await row.locator('.au-what').textContent(), /修改成员/);
  await row.locator('summary').click();
  const name = row.locator('.au-diff tr[data-field="name"]');
  assert.match(await name.textContent(), new RegExp(`${s.resA.name}.*→.*${newName}`));
  await shot(cmd, 'audit-member-change');

  // The template made before the page opened is there too.
  await cmd.fill('#au-target', mine.id);
  await cmd.fill('#au-action', '');
  await cmd.click('#au-filters button[type="submit"]');
  await cmd.locator('#au-rows .au-row[data-route="POST /api/v1/templates"]').waitFor({ timeout: 10000 });

  // The export downloads the same selection.
  const [download] = await Promise.all([cmd.waitForEvent('download'), cmd.click('#au-export')]);
  assert.equal(download.suggestedFilename(), 'audit.csv');
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.match(csv[0], /^seq,at,actor_id,actor_role,token_id,addr,method,route,target,status,before,after/);
  assert.equal(csv.length, 2, 'header and the one entry');
  assert.match(csv[1], /POST \/api\/v1\/templates/);
  assert.ok(!csv.join('\n').includes(CMD_TOKEN), 'no token in the export');
  assert.deepEqual(cmd.errors, []);
});

test('a cadre sees no audit tab', { timeout: 30000 }, async () => {
  const run = s.run;
  const cad = await api(CMD_TOKEN, 'POST', '/api/v1/members', { name: `村干部${run}`, phone: `+8617${run}01`, role: 'cadre', village_id: s.va.id });
  const p = await openPage(browser, '/?token=' + cad.token);
  await p.locator('#conn.conn-online').waitFor();
  await p.locator('#c-template-row:not([hidden])').waitFor({ timeout: 10000 });
  assert.equal(await p.isHidden('#tab-audit'), true);
  await p.close();
});
