// Report handling (docs/API.md v1.6, issue 16 part 1): the command
// center assigns a report to its village's cadre and shows its history;
// the reporter sees the history of its report on the member page (staff
// unnamed). Overdue and escalation follow the policy's time limits (tens
// of minutes in the default policy): the server tests script them with an
// injected clock.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, shot, api, CMD_TOKEN, A, phone } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 90000 }, fn);
let browser;
let cmd;
let res;
const S = {};

before(async () => {
  browser = await launch();
  S.run = Date.now().toString().slice(-7);
  ({ village: S.village } = await api(CMD_TOKEN, 'POST', '/api/v1/villages', { name: `处置村（E2E ${S.run}）`, township: `处置镇${S.run}`, center: A }));
  const mk = (name, role, n) =>
    api(CMD_TOKEN, 'POST', '/api/v1/members', { name: `${name}（E2E ${S.run}）`, phone: `+8617${S.run}${n}`, role, village_id: S.village.id, home: A });
  S.cadre = await mk('王书记', 'cadre', '01');
  S.resident = await mk('李村民', 'resident', '02');
  ({ report: S.report } = await api(S.resident.token, 'POST', '/api/v1/reports', { kind: 'road', text: `桥头路面塌陷 E2E ${S.run}`, lat: A.lat, lng: A.lng }));
});

after(async () => {
  try {
    for (const p of [cmd, res]) if (p) assert.deepEqual(p.errors, [], 'no script errors on ' + p.url());
  } finally {
    await browser?.close();
  }
});

step('the report belongs to the village where it is', async () => {
  assert.equal(S.report.village_id, S.village.id);
  assert.equal(S.report.level, 'village');
  assert.equal(S.report.overdue, false);
});

step('the command center assigns the report and shows its history', async () => {
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.click('.tabs button[data-tab="reports"]');
  const card = cmd.locator(`.rcard[data-report-id="${S.report.id}"]`);
  await card.waitFor({ timeout: 10000 });
  await card.locator(`.r-assignee option[value="${S.cadre.member.id}"]`).waitFor({ state: 'attached', timeout: 10000 });
  await card.locator('.r-assignee').selectOption(S.cadre.member.id);
  await card.locator('button[data-act="save"]').click();
  await card.locator('.r-assignee-line').filter({ hasText: '王书记' }).waitFor({ timeout: 10000 });
  await card.locator('a.r-history-toggle').click();
  const hist = card.locator('.r-history');
  await hist.filter({ hasText: '提交上报' }).waitFor({ timeout: 10000 });
  await hist.filter({ hasText: '指派给 王书记' }).waitFor();
  await shot(cmd, 'cmd-assigned-history');
  const { report } = await api(CMD_TOKEN, 'GET', '/api/v1/reports/' + S.report.id);
  assert.equal(report.assignee_id, S.cadre.member.id);
});

step('the reporter reads its report history, staff unnamed', async () => {
  res = await openPage(browser, '/m?token=' + S.resident.token, { viewport: phone, mobile: true });
  await res.locator('#conn.conn-online').waitFor();
  await res.click('.m-tabs button[data-tab="report"]');
  const card = res.locator(`#my-reports [data-report-id="${S.report.id}"]`);
  await card.waitFor({ timeout: 10000 });
  await card.locator('a.r-history-toggle').click();
  const hist = card.locator('.r-history');
  await hist.filter({ hasText: '我 · 提交上报' }).waitFor({ timeout: 10000 });
  await hist.filter({ hasText: '工作人员 · 指派给 工作人员' }).waitFor();
  assert.equal(await hist.filter({ hasText: '王书记' }).count(), 0, 'no staff names for residents');
  await shot(res, 'resident-report-history');
  // A change while it is open updates it live.
  await api(CMD_TOKEN, 'PATCH', '/api/v1/reports/' + S.report.id, { status: 'accepted' });
  await hist.filter({ hasText: '待受理 → 已受理' }).waitFor({ timeout: 10000 });
});
