// End-to-end test of household credit (我家积分) and the village's board
// (红黑榜) on the member page (issue 16 part 5, docs/API.md v1.6): a
// resident sees that no board is published yet; the command records the
// month's inspections of seven households and publishes the board; the
// page hears the `board` event and shows the red and black boards and the
// points the household's red-board place earned; points given by hand show
// after a reload; another household's member sees its own points only.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, seed, shot, phone, api, A, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
let browser;
let S;
let res;
let other;
let cmd;
let month;
const homes = []; // [{id, name}], the first is resA's, the last resC's

before(async () => {
  S = await seed();
  browser = await launch();
  const c = await api(CMD_TOKEN, 'POST', '/api/v1/members', {
    name: `甲村村民陈七${S.run}`,
    phone: `+8615${S.run}99`,
    role: 'resident',
    village_id: S.va.id,
    home: A,
  });
  S.resC = { ...c.member, token: c.token };
  const names = ['张家', '王家', '李家', '赵家', '钱家', '孙家', '陈家'];
  for (let i = 0; i < names.length; i++) {
    const member_ids = i === 0 ? [S.resA.id] : i === names.length - 1 ? [S.resC.id] : [];
    const h = await api(CMD_TOKEN, 'POST', '/api/v1/households', { village_id: S.va.id, name: names[i] + S.run, member_ids });
    homes.push({ id: h.household.id, name: h.household.name });
  }
  month = (await api(CMD_TOKEN, 'GET', '/api/v1/credit/rules')).month;
});

after(async () => {
  try {
    for (const p of [res, other, cmd]) if (p) assert.deepEqual(p.errors, [], 'no script errors on the page');
  } finally {
    await browser?.close();
  }
});

step('before any board: the household has no points and the village no board', async () => {
  res = await openPage(browser, '/m?token=' + S.resA.token, { viewport: phone, mobile: true });
  await res.locator('#conn.conn-online').waitFor();
  await res.click('.m-tabs [data-tab="bulletins"]');
  const box = res.locator('#credit:not([hidden])');
  await box.waitFor({ timeout: 10000 });
  await box.filter({ hasText: '我家积分' }).waitFor();
  assert.equal(await res.locator('#cr-balance').textContent(), '0');
  assert.match(await box.textContent(), /还没有积分记录/);
  assert.match(await box.textContent(), /本村还没有发布红黑榜/);
  await shot(res, 'credit-empty');
});

step('the published board arrives live with the red-board points', async () => {
  // Totals 95, 90, ..., 65: the top five make the red board (Default's
  // red_size 5), the two lowest the black board.
  for (let i = 0; i < homes.length; i++) {
    const total = 95 - 5 * i;
    await api(CMD_TOKEN, 'POST', '/api/v1/inspections', {
      household_id: homes[i].id,
      month,
      scores: { yard_hygiene: 50, garbage_sorting: total - 50 },
    });
  }
  const pub = await api(CMD_TOKEN, 'POST', '/api/v1/boards/publish', { village_id: S.va.id, month });
  assert.equal(pub.awarded, 7);

  await res.locator('.toast').filter({ hasText: `本村 ${month} 红黑榜已发布` }).first().waitFor({ timeout: 10000 });
  await res.locator('#cr-balance', { hasText: '10' }).waitFor({ timeout: 10000 });
  assert.equal(await res.locator('#cr-level').textContent(), 'B');
  const red = res.locator('#credit ol.cr-red li');
  assert.equal(await red.count(), 5);
  assert.match(await red.first().textContent(), new RegExp(`第1名\\s*${homes[0].name}\\s*95分`));
  const black = res.locator('#credit ol.cr-black li');
  assert.equal(await black.count(), 2);
  assert.match(await black.first().textContent(), new RegExp(homes[6].name), 'the lowest first');
  assert.match(await res.locator('#cr-account .cr-entry').first().textContent(), /\+10\s*.*红榜（第1名）/);
  assert.match(await res.locator('#credit .cr-month').textContent(), new RegExp(month));
  await shot(res, 'credit-board');
});

step('points given by hand show after a reload, and in English', async () => {
  await api(CMD_TOKEN, 'POST', '/api/v1/credit', { household_id: homes[0].id, points: 25, reason: '帮助邻居抢修水渠' });
  await res.reload();
  await res.locator('#conn.conn-online').waitFor();
  await res.click('.m-tabs [data-tab="bulletins"]');
  await res.locator('#cr-balance', { hasText: '35' }).waitFor({ timeout: 10000 });
  assert.equal(await res.locator('#cr-level').textContent(), 'A');
  const entries = res.locator('#cr-account .cr-entry');
  assert.equal(await entries.count(), 2);
  assert.match(await entries.first().textContent(), /\+25\s*帮助邻居抢修水渠/, 'the newest first');
  await res.click('#lang');
  await res.locator('#credit').filter({ hasText: "My household's credit" }).waitFor();
  assert.match(await res.locator('#credit').textContent(), /Red board[\s\S]*Black board/);
  await shot(res, 'credit-english');
  await res.click('#lang');
});

step("another household's member sees its own points only", async () => {
  other = await openPage(browser, '/m?token=' + S.resC.token, { viewport: phone, mobile: true });
  await other.locator('#conn.conn-online').waitFor();
  await other.click('.m-tabs [data-tab="bulletins"]');
  await other.locator('#cr-balance', { hasText: '-10' }).waitFor({ timeout: 10000 });
  assert.equal(await other.locator('#cr-level').textContent(), 'C');
  const text = await other.locator('#cr-account').textContent();
  assert.match(text, /黑榜/);
  assert.doesNotMatch(text, /帮助邻居/, "no entry of another household");
  assert.match(text, new RegExp(homes[6].name));
  await shot(other, 'credit-other');
});

step('the command center records an inspection, publishes, gives points and exports', async () => {
  const hb = (await api(CMD_TOKEN, 'POST', '/api/v1/households', { village_id: S.vb.id, name: '乙村周家' + S.run, member_ids: [S.resB.id] }))
    .household;
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.click('.tabs [data-tab="credit"]');
  await cmd.locator('#cr-village option').first().waitFor({ state: 'attached' });
  await cmd.selectOption('#cr-village', S.vb.id);
  const row = cmd.locator(`#cr-table tr[data-household-id="${hb.id}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.match(await cmd.locator('#cr-state').textContent(), /未发布/);
  await row.locator('input[data-item="yard_hygiene"]').fill('40');
  await row.locator('input[data-item="garbage_sorting"]').fill('35');
  await row.locator('button[data-save]').click();
  await row.filter({ hasText: '75' }).waitFor({ timeout: 10000 });
  await shot(cmd, 'credit-command-inspected');

  cmd.once('dialog', (d) => d.accept());
  await cmd.click('#cr-publish');
  await cmd.locator('.toast').filter({ hasText: /已发布，1 户自动记分/ }).first().waitFor({ timeout: 10000 });
  await cmd.locator('#cr-state', { hasText: '已发布' }).waitFor({ timeout: 10000 });
  const board = (await api(CMD_TOKEN, 'GET', `/api/v1/boards?village_id=${S.vb.id}&month=${month}`)).board;
  assert.equal(board.published, true);
  assert.equal(board.red[0].household_id, hb.id);

  await cmd.selectOption('#cr-household', hb.id);
  await cmd.selectOption('#cr-rule', 'good_deed');
  await cmd.click('#cr-add-form button[type="submit"]');
  await cmd.locator('.toast').filter({ hasText: /余额 20/ }).first().waitFor({ timeout: 10000 });
  const acc = await api(S.resB.token, 'GET', `/api/v1/households/${hb.id}/credit`);
  assert.equal(acc.balance, 20);
  assert.deepEqual(
    acc.entries.map((e) => e.rule),
    ['red_board', 'good_deed'],
  );

  const [dl] = await Promise.all([cmd.waitForEvent('download'), cmd.click('#cr-export')]);
  const chunks = [];
  for await (const c of await dl.createReadStream()) chunks.push(c);
  const csv = Buffer.concat(chunks).toString('utf8');
  assert.ok(csv.startsWith('\uFEFF户编号,村编号,村名,户名,积分余额,信用等级,积分记录数\r\n'), csv.slice(0, 80));
  assert.match(csv, new RegExp(`${hb.id},${S.vb.id},[^,]*,乙村周家${S.run},20,B,2`));
  await shot(cmd, 'credit-command-done');
});
