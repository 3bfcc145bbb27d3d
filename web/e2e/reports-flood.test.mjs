// A flood of reports (issue 13, item 5): junk reports, each within the
// rate limits, must not push an old unhandled "people trapped" report out
// of the command center's view. The reports tab lists the unhandled
// reports oldest first, a page of 100 at a time with "load more", then
// (under "all") the handled ones newest first (docs/API.md v1.4).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot, api, CMD_TOKEN, A } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 90000 }, fn);
const burst = 10; // reports a member may send at once (docs/API.md v1.1)
let browser;
let cmd;
let run;
let trapped; // the old report
const junk = []; // the flood's report ids

before(async () => {
  browser = await launch();
});

after(async () => {
  try {
    if (cmd) assert.deepEqual(cmd.errors, [], 'no script errors on ' + cmd.url());
  } finally {
    await browser?.close();
  }
});

/** residents makes n residents of a fresh village; each may send a burst of reports. */
async function residents(n) {
  run = Date.now().toString().slice(-7);
  const { village } = await api(CMD_TOKEN, 'POST', '/api/v1/villages', { name: `洪峰村（E2E ${run}）`, township: '测试镇', center: A });
  const out = [];
  for (let i = 0; i < n; i++) {
    const res = await api(CMD_TOKEN, 'POST', '/api/v1/members', {
      name: `洪峰村村民${i}（E2E ${run}）`,
      phone: `+8615${run}${String(i).padStart(2, '0')}`,
      role: 'resident',
      village_id: village.id,
      home: A,
    });
    out.push(res.token);
  }
  return out;
}

/** flood sends `burst` junk reports from each token, one after another (junk keeps their order). */
async function flood(tokens, tag) {
  for (const tok of tokens) {
    for (let i = 0; i < burst; i++) {
      const { report } = await api(tok, 'POST', '/api/v1/reports', { kind: 'other', text: `垃圾上报 ${tag}-${junk.length} E2E ${run}`, lat: A.lat, lng: A.lng });
      junk.push(report.id);
    }
  }
}

/** cardOrder is the order of the listed cards of this test's reports. */
function cardOrder() {
  return cmd.evaluate(
    (run) => [...document.querySelectorAll('#reports .rcard')].filter((c) => c.textContent.includes(`E2E ${run}`)).map((c) => c.dataset.reportId),
    run,
  );
}

step('an old unhandled report stays first in view under a flood of newer ones', async () => {
  const toks = await residents(13);
  ({ report: { id: trapped } } = await api(toks[0], 'POST', '/api/v1/reports', { kind: 'flood', text: `三人被困二楼，水已过腰 E2E ${run}`, lat: A.lat, lng: A.lng }));
  // 110 newer reports: more than a page, so the old one would be the
  // 111th newest.
  await flood(toks.slice(1, 12), 'a');

  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.click('.tabs button[data-tab="reports"]');
  const card = cmd.locator(`.rcard[data-report-id="${trapped}"]`);
  await card.waitFor({ timeout: 10000 });
  let order = await cardOrder();
  assert.equal(order[0], trapped, 'the trapped report comes before every junk report');
  assert.ok(order.length < 1 + junk.length, `a page at a time (${order.length} listed)`);
  await cmd.locator('button[data-more="open"]').waitFor();
  await shot(cmd, 'flood-oldest-first');

  // More junk arrives live: it waits behind, the old report stays first.
  const before = junk.length;
  await flood(toks.slice(12, 13), 'b');
  await cmd.locator('button[data-more="open"]').filter({ hasText: `另有 ${junk.length - before} 条新上报` }).waitFor({ timeout: 10000 });
  order = await cardOrder();
  assert.equal(order[0], trapped);
  assert.ok(await card.isVisible());

  // Load more until everything is listed, oldest first.
  while (await cmd.locator('button[data-more="open"]').count()) {
    await cmd.click('button[data-more="open"]');
    await cmd.waitForFunction(() => !document.querySelector('button[data-more="open"]:disabled'), null, { timeout: 10000 });
  }
  order = await cardOrder();
  assert.equal(order.length, 1 + junk.length, 'every unhandled report listed once loaded');
  assert.equal(new Set(order).size, order.length, 'none twice');
  assert.deepEqual(order, [trapped, ...junk], 'oldest first');
  await shot(cmd, 'flood-all-loaded');
});

step('handled reports come after the unhandled ones, under "all"', async () => {
  // The trapped report is handled: it leaves the unhandled list for the handled one.
  await api(CMD_TOKEN, 'PATCH', '/api/v1/reports/' + trapped, { status: 'resolved', feedback: '已转移三人' });
  await cmd.locator(`.rcard[data-report-id="${trapped}"] .chip-status`).waitFor({ state: 'detached', timeout: 10000 });
  await cmd.click('#r-filter button[data-filter="all"]');
  const section = cmd.locator('#reports h3.r-section');
  await section.filter({ hasText: '已办结' }).waitFor();
  const placed = await cmd.evaluate((id) => {
    const h = document.querySelector('#reports h3.r-section');
    const c = document.querySelector(`#reports .rcard[data-report-id="${id}"]`);
    return !!(h && c && h.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING);
  }, trapped);
  assert.ok(placed, 'the resolved report is listed under 已办结');
  await cmd.locator(`.rcard[data-report-id="${trapped}"] .chip-status`).filter({ hasText: '已办结' }).waitFor();
  await section.scrollIntoViewIfNeeded();
  await shot(cmd, 'flood-handled');
  await cmd.click('#r-filter button[data-filter="open"]');
});
