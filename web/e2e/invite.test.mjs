// End-to-end tests of issue 12's links in headless Chromium, against the
// demo hubd of web/e2e.sh: the member page opened through an invitation
// link (once only, then the sign-in by phone), and the answer page opened
// through the personal link of an alert SMS. The links are read from the
// demo's log sender, which writes each SMS's text at INFO (HUB_LOG).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, openPage, seed, shot, phone, sleep, api, A, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN || !process.env.HUB_LOG) throw new Error('HUB_CMD_TOKEN or HUB_LOG is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
let browser;
let S;
const pages = [];

before(async () => {
  S = await seed();
  browser = await launch();
});

after(async () => {
  try {
    // A used invitation (401) and a forged answer link (404) are refused
    // on purpose; the browser logs the refused request.
    const refused = /^Failed to load resource: the server responded with a status of (401|404)/;
    for (const p of pages) assert.deepEqual(p.errors.filter((e) => !(p.refusedOK && refused.test(e))), [], 'no script errors on ' + p.url());
  } finally {
    await browser?.close();
  }
});

/** smsBodies are the texts of the SMS the hub has sent so far, oldest first. */
function smsBodies() {
  const out = [];
  for (const line of readFileSync(process.env.HUB_LOG, 'utf8').split('\n')) {
    if (!line.includes('"msg":"sms"')) continue;
    try {
      const l = JSON.parse(line);
      if (l.body) out.push(l.body);
    } catch {
      // a line being written
    }
  }
  return out;
}

/** waitSMS waits for an SMS whose text matches re (the n-th such, from 1) and returns the match. */
async function waitSMS(re, n = 1) {
  for (let i = 0; i < 150; i++) {
    const found = smsBodies().map((b) => b.match(re)).filter(Boolean);
    if (found.length >= n) return found[n - 1];
    await sleep(100);
  }
  throw new Error('no SMS matching ' + re);
}

async function open(url) {
  const p = await openPage(browser, url, { viewport: phone, mobile: true });
  pages.push(p);
  return p;
}

let invitePath;

step('an invitation link opens the member page, signed in', async () => {
  const res = await api(CMD_TOKEN, 'POST', '/api/v1/invitations', { member_ids: [S.resA.id] });
  assert.equal(res.invited, 1);
  const m = await waitSMS(new RegExp(`${S.resA.name}您好.*点击登录：(\\S+/m\\?invite=[A-Za-z0-9_-]+)（7天内有效`));
  const link = new URL(m[1]);
  invitePath = link.pathname + link.search;
  const page = await open(invitePath);
  await page.locator('#conn.conn-online').waitFor();
  assert.ok(!page.url().includes('invite='), 'the invitation secret is removed from the address: ' + page.url());
  const tok = await page.evaluate(() => localStorage.getItem('hub.m.token'));
  assert.ok(tok && tok !== S.resA.token, 'the page keeps a new token');
  const me = await api(tok, 'GET', '/api/v1/me');
  assert.equal(me.member.id, S.resA.id);
  await page.waitForFunction((name) => document.querySelector('#who')?.textContent.includes(name), S.resA.name);
  await shot(page, 'invite-signed-in');
});

step('a used invitation link says so and offers the sign-in by phone', async () => {
  const page = await open(invitePath);
  page.refusedOK = true;
  await page.locator('#login:not([hidden])').waitFor();
  assert.match(await page.locator('#fatal').textContent(), /已使用或已过期/);
  await shot(page, 'invite-used');
  // Sign in with the phone number and the code of the SMS.
  const before = smsBodies().filter((b) => b.includes('登录验证码')).length;
  await page.fill('#login-phone', S.resB.phone);
  await page.click('#login-send');
  await page.locator('#login-code-row:not([hidden])').waitFor();
  const code = (await waitSMS(/登录验证码：([0-9]{6})/, before + 1))[1];
  await page.fill('#login-code', code);
  await shot(page, 'login-code');
  await page.click('#login-verify');
  await page.locator('#conn.conn-online').waitFor();
  await page.waitForFunction((name) => document.querySelector('#who')?.textContent.includes(name), S.resB.name);
  await shot(page, 'login-signed-in');
});

step('the answer link of an alert SMS answers without signing in', async () => {
  const title = `E2E答复测试${S.run}`;
  const res = await api(CMD_TOKEN, 'POST', '/api/v1/alerts', {
    kind: 'warning', severity: 'severe', title, body: '山洪即将到达，请立即转移到村委会二楼。'.repeat(6),
    area: { circle: { lat: A.lat, lng: A.lng, radius_m: 150 } }, sms_fallback_after_s: 0,
  });
  assert.equal(res.targeted, 1);
  const alertID = res.alert.id;
  const m = await waitSMS(new RegExp(`${title}.*(https?://\\S+/a/[A-Za-z0-9_-]+)$`));
  const link = new URL(m[1]);
  const page = await open(link.pathname);
  await page.locator('#alert:not([hidden])').waitFor();
  assert.equal(await page.locator('#a-title').textContent(), title);
  const html = await page.content();
  assert.ok(!html.includes(S.resA.phone) && !html.includes(S.resA.name), 'the page shows neither the phone nor the full name');
  await shot(page, 'answer-page');
  await page.click('button[data-resp="need_help"]');
  await page.locator('#a-answered:not([hidden])').waitFor();
  assert.match(await page.locator('#a-answered').textContent(), /需要救助/);
  await shot(page, 'answer-need-help');
  const rs = await api(CMD_TOKEN, 'GET', `/api/v1/alerts/${alertID}/recipients`);
  assert.equal(rs.recipients.find((r) => r.member_id === S.resA.id)?.response, 'need_help');
  // Cancelled: the page says the alert has ended, without buttons.
  await api(CMD_TOKEN, 'POST', `/api/v1/alerts/${alertID}/cancel`);
  await page.reload();
  await page.locator('#a-ended:not([hidden])').waitFor();
  assert.equal(await page.locator('button[data-resp]').count(), 0);
  await shot(page, 'answer-ended');
  // A forged link shows that it is not valid.
  const bad = await open('/a/' + link.pathname.slice(3, -2) + 'xx');
  bad.refusedOK = true;
  await bad.locator('#fatal:not([hidden])').waitFor();
  await shot(bad, 'answer-forged');
});
