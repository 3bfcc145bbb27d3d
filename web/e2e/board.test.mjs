// End-to-end test of the village board (村务公开栏 / 曝光台) on the member
// page (docs/API.md v1.6, issue 16 part 2): a neighbour sees the village's
// public report with its photo (never a private one), likes it and sees
// the count, sees another member's like arrive live (board event), the
// committee's answer and the rectification rate; a report made on the
// page as "public" is stored public; the command center uploads the
// rectification ("after") photo and confirms a good deed recorded on the
// member page, and both appear on the neighbour's board.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, seed, shot, phone, api, A, HUB, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
let browser;
let S;
let nb; // the neighbour's member record
let page;
let pub;
let priv;
let cmd; // the command center

async function upload(token) {
  const res = await fetch(HUB + '/api/v1/media', { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'image/png' }, body: png });
  assert.equal(res.status, 201);
  return (await res.json()).media.id;
}

before(async () => {
  S = await seed();
  const res = await api(CMD_TOKEN, 'POST', '/api/v1/members', {
    name: `甲村邻居赵六${S.run}`,
    phone: `+8613${S.run}90`,
    role: 'resident',
    village_id: S.va.id,
    home: A,
  });
  nb = { ...res.member, token: res.token };
  const photo = await upload(S.resA.token);
  pub = (await api(S.resA.token, 'POST', '/api/v1/reports', {
    kind: 'sanitation', text: `路口垃圾堆 E2E ${S.run}`, lat: A.lat, lng: A.lng, photos: [photo], visibility: 'public',
  })).report;
  priv = (await api(S.resA.token, 'POST', '/api/v1/reports', {
    kind: 'dispute', text: `邻里纠纷 E2E ${S.run}`, lat: A.lat, lng: A.lng,
  })).report;
  browser = await launch();
});

after(async () => {
  try {
    if (page) assert.deepEqual(page.errors, [], 'no script errors on the member page');
    if (cmd) assert.deepEqual(cmd.errors, [], 'no script errors in the command center');
  } finally {
    await browser?.close();
  }
});

step('a neighbour sees the public report on the board, never the private one, and likes it', async () => {
  page = await openPage(browser, '/m?token=' + nb.token, {
    viewport: phone,
    mobile: true,
    geolocation: { latitude: A.lat, longitude: A.lng, accuracy: 8 },
  });
  await page.locator('#conn.conn-online').waitFor();
  await page.click('.m-tabs button[data-tab="board"]');
  const card = page.locator(`#board .board-report[data-id="${pub.id}"]`);
  await card.waitFor({ timeout: 10000 });
  assert.equal(await page.locator(`#board [data-id="${priv.id}"]`).count(), 0, 'the private report is not on the board');
  assert.match(await card.textContent(), /路口垃圾堆/);
  assert.doesNotMatch(await card.textContent(), new RegExp(S.resA.name), 'the reporter is named masked');
  // Its photo loads (the board's photos are the village's to see).
  await card.locator('img.thumb').first().waitFor();
  assert.ok(await card.locator('img.thumb').first().evaluate((img) => img.complete && img.naturalWidth > 0), 'the photo loads');
  assert.equal((await page.locator('#board-rate-value').textContent()).trim(), '0%');

  const like = card.locator('button[data-react="like"]');
  assert.equal((await like.locator('.count').textContent()).trim(), '0');
  await like.click();
  await card.locator('button[data-react="like"].active .count').filter({ hasText: /^1$/ }).waitFor({ timeout: 10000 });
  assert.ok(await card.locator('button[data-react="like"]').isDisabled(), 'liked once: the button is spent');
  const got = await api(S.resA.token, 'GET', `/api/v1/reports/${pub.id}`);
  assert.equal(got.report.likes, 1);
  await shot(page, 'board-liked');
});

step('another member\'s like and the committee\'s answer arrive live; the rate follows', async () => {
  const card = page.locator(`#board .board-report[data-id="${pub.id}"]`);
  await api(S.resA.token, 'POST', `/api/v1/reports/${pub.id}/like`);
  await card.locator('button[data-react="like"] .count').filter({ hasText: /^2$/ }).waitFor({ timeout: 10000 });
  await api(S.resA.token, 'POST', `/api/v1/reports/${pub.id}/urge`);
  await card.locator('button[data-react="urge"] .count').filter({ hasText: /^1$/ }).waitFor({ timeout: 10000 });
  assert.ok(!(await card.locator('button[data-react="urge"]').isDisabled()), 'the neighbour has not urged yet');

  await api(CMD_TOKEN, 'PATCH', `/api/v1/reports/${pub.id}`, { status: 'resolved', feedback: '已清运完毕' });
  await card.locator('.feedback-text').filter({ hasText: '已清运完毕' }).waitFor({ timeout: 10000 });
  await page.locator('#board-rate-value').filter({ hasText: '100%' }).waitFor({ timeout: 10000 });
  await shot(page, 'board-answered');

  // English.
  await page.click('#lang');
  await page.locator('#board .board-rate').filter({ hasText: 'Rectification rate' }).waitFor();
  await page.click('#lang');
});

step('a report made public on the page is stored public', async () => {
  await page.click('.m-tabs button[data-tab="report"]');
  await page.locator('#where.ok').waitFor({ timeout: 10000 });
  await page.click('#kinds button[data-kind="water"]');
  const text = `水渠堵塞 E2E ${S.run}`;
  await page.fill('#report-text', text);
  await page.check('#vis-public');
  await page.click('#report-send');
  await page.locator('#my-reports [data-report-id]').filter({ hasText: text }).waitFor({ timeout: 10000 });
  const mine = await api(nb.token, 'GET', '/api/v1/reports');
  const r = mine.reports.find((x) => x.text === text);
  assert.equal(r?.visibility, 'public');
  assert.ok(!(await page.isChecked('#vis-public')), 'the form is back to private');
  await page.click('.m-tabs button[data-tab="board"]');
  await page.locator(`#board .board-report[data-id="${r.id}"]`).waitFor({ timeout: 10000 });
});

step('the command center sets the rectification photo and confirms a good deed; the board shows both', async () => {
  // The neighbour records a good deed on the board tab.
  await page.click('#board .board-deed-form summary');
  const title = `帮五保户修屋顶 E2E ${S.run}`;
  await page.fill('#deed-title', title);
  await page.fill('#deed-about', '钱师傅');
  await page.setInputFiles('#deed-photo', { name: 'deed.png', mimeType: 'image/png', buffer: png });
  await page.click('#deed-form button[type="submit"]');
  await page.locator('.toast').filter({ hasText: '已提交' }).first().waitFor({ timeout: 10000 });

  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.click('.tabs button[data-tab="reports"]');
  await cmd.locator('#r-filter button[data-filter="all"]').waitFor();
  await cmd.click('#r-filter button[data-filter="all"]');
  const card = cmd.locator(`.rcard[data-report-id="${pub.id}"]`);
  await card.locator('.chip-public').waitFor({ timeout: 15000 });
  await card.locator('input.r-rectify').setInputFiles({ name: 'after.png', mimeType: 'image/png', buffer: png });
  await card.locator('img.rphoto-after').waitFor({ timeout: 10000 });
  const board = page.locator(`#board .board-report[data-id="${pub.id}"]`);
  await board.locator('.board-photos').filter({ hasText: '整改后' }).waitFor({ timeout: 10000 });

  const deed = cmd.locator('#deeds .dcard').filter({ hasText: title });
  await deed.waitFor({ timeout: 10000 });
  await shot(cmd, 'cmd-deeds');
  await deed.locator('button[data-deed="confirm"]').click();
  await deed.waitFor({ state: 'detached', timeout: 10000 });
  const onBoard = page.locator('#board .board-deed').filter({ hasText: title });
  await onBoard.waitFor({ timeout: 10000 });
  await onBoard.locator('img.thumb').first().waitFor();
  assert.ok(await onBoard.locator('img.thumb').first().evaluate((img) => img.complete && img.naturalWidth > 0), 'the deed photo loads');
  await onBoard.locator('button[data-react="like"]').click();
  await onBoard.locator('button[data-react="like"].active .count').filter({ hasText: /^1$/ }).waitFor({ timeout: 10000 });
  await shot(page, 'board-deed');
});
