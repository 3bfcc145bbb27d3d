// End-to-end tests of the command center's issue-12 panels in headless
// Chromium, against a real hubd (web/e2e.sh): a roster imported from a CSV
// (a dry run that finds a bad row and keeps "import" disabled, then the
// corrected file imported), a member deactivated, a village invited, the
// preview's count of homes placed at the village centre, and an answer
// recorded on someone's behalf shown with who recorded it. The steps run
// in order and share one village of their own.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, openPage, shot, api, A, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const step = (name, fn) => test(name, { timeout: 60000 }, fn);
const run = Date.now().toString().slice(-7);
const phoneOf = (n) => `+8613${run}${n}`; // 11 digits after +86
let browser;
let cmd;
let village;
let me; // the commander signed in
const names = { zhao: `赵一${run}`, qian: `钱二${run}`, sun: `孙三${run}` };

before(async () => {
  browser = await launch();
  village = (await api(CMD_TOKEN, 'POST', '/api/v1/villages', { name: `花名册村（E2E ${run}）`, township: '测试镇', center: A })).village;
  me = (await api(CMD_TOKEN, 'GET', '/api/v1/me')).member;
});

after(async () => {
  try {
    // The browser logs the dry run's 400 (a file with errors) as a failed
    // resource; that answer is expected. Anything else is a bug.
    const errors = (cmd?.errors || []).filter((e) => !/status of 400 \(Bad Request\)/.test(e));
    assert.deepEqual(errors, [], 'no script errors on the command center');
  } finally {
    await browser?.close();
  }
});

/** csv is the roster sheet: 赵一 without a position (placed at the village centre), 钱二 with the given phone, 孙三 a patrol at A. */
function csv(qianPhone) {
  return (
    '姓名,手机,村,角色,地址,纬度,经度\n' +
    `${names.zhao},${phoneOf(51)},${village.name},村民,一组1号,,\n` +
    `${names.qian},${qianPhone},${village.name},村民,一组2号,,\n` +
    `${names.sun},${phoneOf(53)},${village.name},网格员,一组3号,${A.lat},${A.lng}\n`
  );
}

async function choose(file) {
  await cmd.setInputFiles('#imp-file', { name: 'roster.csv', mimeType: 'text/csv', buffer: Buffer.from(file, 'utf8') });
}

async function memberRow(name) {
  // The search reloads the list 300 ms after typing: wait for that read,
  // or it may redraw the list in the middle of the step.
  const read = cmd.waitForResponse((r) => r.url().includes('/api/v1/members?') && r.url().includes('q=' + encodeURIComponent(name)));
  await cmd.fill('#mem-q', name);
  await read;
  const row = cmd.locator('.mrow').filter({ hasText: name });
  await row.waitFor({ timeout: 10000 });
  return row;
}

step('import: the dry run lists the bad row and keeps "import" disabled; the corrected file imports', async () => {
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  await cmd.click('.tabs button[data-tab="members"]');
  await cmd.click('#mem-sub button[data-sub="import"]');
  await cmd.locator('#mem-import-pane:not([hidden])').waitFor();
  assert.equal(await cmd.isDisabled('#imp-run'), true, 'nothing to import before a check');
  // The template downloads as a CSV with the Chinese headers.
  const [download] = await Promise.all([cmd.waitForEvent('download'), cmd.click('#imp-template')]);
  assert.match(download.suggestedFilename(), /\.csv$/);
  const template = readFileSync(await download.path(), 'utf8');
  assert.match(template, /^\ufeff姓名,手机,村,角色,地址,纬度,经度/);

  await choose(csv('12345'));
  await cmd.click('#imp-check');
  const bad = cmd.locator('.imp-errors tbody tr[data-line="3"]');
  await bad.waitFor({ timeout: 30000 });
  assert.match(await bad.textContent(), /12345/);
  assert.match(await bad.locator('td').nth(1).textContent(), /phone|手机/);
  await cmd.locator('.imp-status.bad').waitFor();
  assert.equal(await cmd.isDisabled('#imp-run'), true, 'import stays disabled after a dry run with errors');
  await shot(cmd, 'import-dry-run-error');
  // Nothing was written.
  const none = await api(CMD_TOKEN, 'GET', '/api/v1/members?q=' + encodeURIComponent(names.zhao));
  assert.equal(none.members.length, 0, 'the dry run wrote nothing');

  await choose(csv(phoneOf(52)));
  assert.equal(await cmd.isDisabled('#imp-run'), true, 'another file must be checked again');
  await cmd.click('#imp-check');
  await cmd.locator('.imp-status.ok').waitFor({ timeout: 30000 });
  assert.equal(await cmd.locator('.imp-errors').count(), 0);
  assert.equal(await cmd.isEnabled('#imp-run'), true, 'a clean dry run enables import');
  await cmd.locator('.imp-counts [data-k="created"]').filter({ hasText: '3' }).waitFor();
  await shot(cmd, 'import-dry-run-clean');
  await cmd.click('#imp-run');
  await cmd.locator('#modal:not([hidden])').waitFor();
  assert.match(await cmd.locator('#modal-body').textContent(), /roster\.csv/);
  await cmd.click('#modal-ok');
  await cmd.locator('.imp-status.ok').filter({ hasText: '导入完成' }).waitFor({ timeout: 30000 });
  await cmd.locator('.imp-counts [data-k="created"]').filter({ hasText: '新增 3' }).waitFor();
  await shot(cmd, 'import-done');

  // The members appear in the list, marked as never signed in; 赵一's home is the village centre.
  await cmd.click('#mem-sub button[data-sub="list"]');
  await cmd.fill('#mem-q', run);
  for (const n of Object.values(names)) await cmd.locator('.mrow').filter({ hasText: n }).waitFor({ timeout: 10000 });
  const zhao = cmd.locator('.mrow').filter({ hasText: names.zhao });
  await zhao.locator('.chip-approx').filter({ hasText: '位置为村中心（近似）' }).waitFor();
  await zhao.locator('.chip-unsigned').filter({ hasText: '未登录' }).waitFor();
  assert.equal(await cmd.locator('.mrow').filter({ hasText: names.sun }).locator('.chip-approx').count(), 0, 'a home from the sheet is not approximate');
  await shot(cmd, 'members-imported');
  const listed = await api(CMD_TOKEN, 'GET', '/api/v1/members?q=' + run);
  assert.equal(listed.members.length, 3);
});

step('members: deactivate one after a confirmation', async () => {
  const row = await memberRow(names.qian);
  await row.locator('button[data-act="edit"]').click();
  await cmd.locator('#medit:not([hidden])').waitFor();
  assert.equal(await cmd.inputValue('#me-name'), names.qian);
  await shot(cmd, 'member-edit');
  await cmd.click('#me-active');
  await cmd.locator('#modal:not([hidden])').waitFor();
  assert.match(await cmd.locator('#modal-body').textContent(), new RegExp('停用 ' + names.qian));
  await cmd.click('#modal-ok');
  await cmd.locator('#medit').waitFor({ state: 'hidden' });
  await row.locator('.chip-inactive').filter({ hasText: '已停用' }).waitFor();
  assert.equal(await row.locator('button[data-act="invite"]').isDisabled(), true, 'a deactivated member is not invited');
  const id = await row.getAttribute('data-member-id');
  const m = (await api(CMD_TOKEN, 'GET', '/api/v1/members/' + id)).member;
  assert.equal(m.active, false);
  await shot(cmd, 'member-deactivated');
});

step('invitations: invite the village, the answer shows how many were invited', async () => {
  await cmd.fill('#mem-q', '');
  await cmd.selectOption('#mem-village', village.id);
  await cmd.locator('.mrow').filter({ hasText: names.zhao }).waitFor({ timeout: 10000 });
  assert.equal(await cmd.isEnabled('#inv-village'), true);
  await cmd.click('#inv-village');
  await cmd.locator('#modal:not([hidden])').waitFor();
  assert.ok((await cmd.locator('#modal-body').textContent()).includes(village.name));
  await cmd.click('#modal-ok');
  // 赵一 and 孙三; 钱二 is deactivated.
  await cmd.locator('#inv-result:not([hidden]) #inv-invited').filter({ hasText: '已邀请 2 人' }).waitFor({ timeout: 10000 });
  await shot(cmd, 'village-invited');

  // "Not signed in": the filter keeps the two (nobody used a link yet), and
  // inviting them says how many first.
  await cmd.check('#mem-unsigned');
  await cmd.waitForFunction(() => document.querySelectorAll('.mrow').length === 2, null, { timeout: 10000 });
  await cmd.locator('#inv-result').evaluate((el) => (el.hidden = true));
  await cmd.click('#inv-unsigned');
  await cmd.locator('#modal:not([hidden])').waitFor();
  assert.match(await cmd.locator('#modal-body').textContent(), /尚未登录的 2 人/);
  await cmd.click('#modal-ok');
  await cmd.locator('#inv-result:not([hidden]) #inv-invited').filter({ hasText: '已邀请 2 人' }).waitFor({ timeout: 10000 });
  await cmd.uncheck('#mem-unsigned');
});

step('alerts: the preview counts homes at the village centre; an answer on someone\'s behalf shows who answered', async () => {
  await cmd.click('.tabs button[data-tab="compose"]');
  const title = `代答测试 E2E ${run}`;
  await cmd.fill('#c-title', title);
  await cmd.selectOption('#c-severity', 'extreme');
  assert.equal(await cmd.inputValue('#c-voice'), '300', 'extreme alerts call after 300 s by default');
  await cmd.click('#c-modes button[data-mode="villages"]');
  await cmd.fill('#c-village-search', village.name);
  await cmd.locator(`#c-village-list label[data-village-id="${village.id}"] input`).check();
  await cmd.waitForFunction(() => document.querySelector('#c-targeted')?.textContent === '2', null, { timeout: 10000 });
  await cmd.locator('#c-preview-extra:not([hidden])').filter({ hasText: '其中 1 人位置为村中心估计' }).waitFor({ timeout: 10000 });
  await shot(cmd, 'preview-approximate');
  await cmd.click('#c-send');
  await cmd.locator('#modal:not([hidden])').waitFor();
  assert.match(await cmd.locator('#modal-body').textContent(), /1 人位置为村中心估计/);
  await cmd.click('#modal-ok');
  await cmd.locator('.tabs button.active[data-tab="alerts"]').waitFor();

  const card = cmd.locator('.acard').filter({ hasText: title });
  await card.waitFor({ timeout: 10000 });
  await card.locator('details.recips summary').click();
  const li = card.locator('.rc-list li').filter({ hasText: names.zhao });
  await li.waitFor({ timeout: 10000 });
  await li.locator('button[data-behalf="safe"]').click();
  await cmd.locator('#modal:not([hidden])').waitFor();
  assert.ok((await cmd.locator('#modal-body').textContent()).includes(names.zhao));
  await cmd.click('#modal-ok');
  // The row (now under "all", the list showed those who had not answered) says who answered.
  await card.locator('.rc-filter').selectOption('');
  const by = card.locator('.rc-list li').filter({ hasText: names.zhao }).locator('.answered-by');
  await by.filter({ hasText: `由 ${me.name}（指挥员）代答` }).waitFor({ timeout: 10000 });
  await card.locator('[data-k="a.safe"] .bn').filter({ hasText: /^1 \/ 2$/ }).waitFor({ timeout: 10000 });
  await card.locator('.chip-onbehalf:not([hidden])').filter({ hasText: '代答 1 人' }).waitFor({ timeout: 10000 });
  // An extreme alert with SMS calls those who do not answer: its calls show beside the SMS.
  await card.locator('.voice-bars:not([hidden]) [data-k="v.queued"]').waitFor({ timeout: 10000 });
  await by.scrollIntoViewIfNeeded();
  await shot(cmd, 'progress-on-behalf');

  // The hub recorded it as the commander's answer for 赵一.
  const alerts = (await api(CMD_TOKEN, 'GET', '/api/v1/alerts?status=active')).alerts;
  const a = alerts.find((x) => x.title === title);
  const rs = (await api(CMD_TOKEN, 'GET', `/api/v1/alerts/${a.id}/recipients?response=safe`)).recipients;
  assert.equal(rs.length, 1);
  assert.equal(rs[0].name, names.zhao);
  assert.equal(rs[0].answered_by.id, me.id);
  await api(CMD_TOKEN, 'POST', `/api/v1/alerts/${a.id}/cancel`);
});

step('import villages: a new village from a sheet joins the map\'s and the panels\' village lists', async () => {
  const name = `导入村（E2E ${run}）`;
  await cmd.click('.tabs button[data-tab="members"]');
  await cmd.click('#mem-sub button[data-sub="import"]');
  await cmd.click('#imp-kind button[data-kind="villages"]');
  await cmd.setInputFiles('#imp-file', {
    name: 'villages.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(`村名,乡镇,代码,纬度,经度\n${name},测试镇,33${run},${A.lat + 0.01},${A.lng}\n`, 'utf8'),
  });
  await cmd.click('#imp-check');
  await cmd.locator('.imp-status.ok').waitFor({ timeout: 30000 });
  await cmd.click('#imp-run');
  await cmd.click('#modal-ok');
  await cmd.locator('.imp-status.ok').filter({ hasText: '导入完成' }).waitFor({ timeout: 30000 });
  const v = (await api(CMD_TOKEN, 'GET', '/api/v1/villages')).villages.find((x) => x.name === name);
  assert.ok(v, 'the village was made');
  await cmd.locator(`#mem-village option[value="${v.id}"]`).waitFor({ state: 'attached', timeout: 10000 });
  await cmd.locator(`#b-village option[value="${v.id}"]`).waitFor({ state: 'attached', timeout: 10000 });
  await shot(cmd, 'villages-imported');
});

step('tablet: the members panel fits a portrait tablet and its buttons can be touched', async () => {
  const tab = await openPage(browser, '/?token=' + CMD_TOKEN, { viewport: { width: 768, height: 1024 }, mobile: true });
  try {
    await tab.locator('#conn.conn-online').waitFor();
    await tab.click('.tabs button[data-tab="members"]');
    await tab.fill('#mem-q', run);
    const edit = tab.locator('.mrow').filter({ hasText: names.zhao }).locator('button[data-act="edit"]');
    await edit.waitFor({ timeout: 10000 });
    const box = await edit.boundingBox();
    assert.ok(box.x + box.width <= 768, 'the edit button is on screen: ' + JSON.stringify(box));
    assert.ok(box.height >= 28, 'big enough to touch: ' + box.height);
    const overflow = await tab.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'no sideways scrolling');
    await shot(tab, 'tablet-members');
    assert.deepEqual(tab.errors, []);
  } finally {
    await tab.context().close();
  }
});
