// End-to-end test of the villager mailbox (信箱) on the member page and
// the command center (issue 16, docs/API.md v1.6 "the villager mailbox"):
// a resident writes a letter to the village secretary, opens it, the
// village's cadre answers (through the API) and the answer appears in the
// open letter live; the letter shows who can read it; the cadre's command
// center lists the letter; the other village's resident never sees it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, seed, shot, phone, api, A, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
let browser;
let S;
let cadre;
let res;
let cmd;
let letterID;
const subject = '三组路灯坏了';

before(async () => {
  S = await seed();
  const out = await api(CMD_TOKEN, 'POST', '/api/v1/members', {
    name: `甲村书记${S.run}`,
    phone: `+8613${S.run}90`,
    role: 'cadre',
    village_id: S.va.id,
    home: A,
  });
  cadre = { ...out.member, token: out.token };
  browser = await launch();
});

after(async () => {
  try {
    if (res) assert.deepEqual(res.errors, [], 'no script errors on the member page');
    if (cmd) assert.deepEqual(cmd.errors, [], 'no script errors in the command center');
  } finally {
    await browser?.close();
  }
});

step('a resident writes a letter to the village secretary', async () => {
  res = await openPage(browser, '/m?token=' + S.resA.token, { viewport: phone, mobile: true });
  await res.locator('#conn.conn-online').waitFor();
  await res.click('.m-tabs button[data-tab="mail"]');
  await res.locator('#tab-mail:not([hidden])').waitFor();
  assert.equal(await res.locator('.m-tabs button[data-tab="mail"]').textContent(), '信箱');
  await res.selectOption('#mail-to', 'village');
  await res.fill('#mail-subject', subject);
  await res.fill('#mail-body', '路口的路灯坏了一个月，晚上看不见路。');
  await res.click('#mail-send');
  const card = res.locator('#mail-list [data-letter-id]').filter({ hasText: subject });
  await card.waitFor({ timeout: 10000 });
  assert.match(await card.textContent(), /待回复/);
  letterID = await card.getAttribute('data-letter-id');
  await shot(res, 'written');
});

step('the cadre answers and the answer appears live', async () => {
  const mine = await api(cadre.token, 'GET', '/api/v1/letters?status=open');
  assert.ok(mine.letters.some((l) => l.id === letterID), "the letter is in the cadre's list");
  await res.click(`#mail-list [data-letter-id="${letterID}"]`);
  await res.locator('#mail-thread li[data-kind="letter"]').waitFor();
  await res.locator('#mail-read details.readers summary').click();
  assert.match(await res.locator('#mail-readers').textContent(), new RegExp(`甲村书记${S.run}`), 'who can read it');

  await api(cadre.token, 'POST', `/api/v1/letters/${letterID}/reply`, { body: '已安排电工明天来修。' });
  const reply = res.locator('#mail-thread li[data-kind="reply"]');
  await reply.waitFor({ timeout: 10000 });
  assert.match(await reply.textContent(), /已安排电工明天来修/);
  assert.match(await res.locator('#mail-read .letter-status').textContent(), /已回复/);
  await shot(res, 'answered');

  // The resident goes on with the thread from the page.
  await res.fill('#mail-reply', '谢谢书记！');
  await res.click('#mail-read button[data-act="reply"]');
  await res.locator('#mail-thread li[data-kind="reply"].mine').waitFor({ timeout: 10000 });
});

step("another village's resident does not see it", async () => {
  const other = await api(S.resB.token, 'GET', '/api/v1/letters');
  assert.equal(other.letters.length, 0);
  const r = await fetch(process.env.HUB_URL + `/api/v1/letters/${letterID}`, { headers: { Authorization: 'Bearer ' + S.resB.token } });
  assert.equal(r.status, 404);
});

step("the cadre's command center lists the letter", async () => {
  cmd = await openPage(browser, '/?token=' + cadre.token);
  await cmd.click('.tabs button[data-tab="letters"]');
  await cmd.click('#l-filter button[data-filter="all"]');
  const row = cmd.locator(`#letters [data-letter-id="${letterID}"]`);
  await row.waitFor({ timeout: 15000 });
  assert.match(await row.textContent(), new RegExp(subject));
  await row.click();
  await cmd.locator('#letters .thread li[data-kind="reply"]').first().waitFor();
  await shot(cmd, 'command-center');
});
