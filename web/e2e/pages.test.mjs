// End-to-end tests of the two pages in headless Chromium, against a real
// hubd (started by web/e2e.sh). The tests run in order and share the
// scene: a command center, residents A (inside the circle) and B
// (outside), and a patrol at A.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, seed, shot, phone, sleep, mapPoint, east, api, A, B, CMD_TOKEN } from './lib.mjs';

if (!CMD_TOKEN) throw new Error('HUB_CMD_TOKEN is not set: run web/e2e.sh');

const quiet = 2000; // how long "nothing arrives" is watched for
const step = (name, fn) => test(name, { timeout: 60000 }, fn);
let browser;
let S; // the seeded villages and members
let cmd; // the command center page
let resA;
let resB;

before(async () => {
  S = await seed();
  browser = await launch();
});

after(async () => {
  try {
    for (const p of [cmd, resA, resB]) if (p) assert.deepEqual(p.errors, [], 'no script errors on ' + p.url());
  } finally {
    await browser?.close();
  }
});

/** member opens the resident page for a member, on a phone-sized screen at its home. */
async function member(m, at) {
  const page = await openPage(browser, '/m?token=' + m.token, {
    viewport: phone,
    mobile: true,
    geolocation: { latitude: at.lat, longitude: at.lng, accuracy: 12 },
  });
  await page.locator('#conn.conn-online').waitFor();
  return page;
}

async function cmdTab(name) {
  await cmd.click(`.tabs button[data-tab="${name}"]`);
}

/** sendFromCompose presses send, checks the confirmation's numbers and confirms. */
async function sendFromCompose(targeted, connected, shotName) {
  await cmd.waitForFunction(
    ([n, m]) => document.querySelector('#c-targeted')?.textContent === String(n) && document.querySelector('#c-connected')?.textContent === String(m),
    [targeted, connected],
    { timeout: 10000 },
  );
  await cmd.click('#c-send');
  await cmd.locator('#modal:not([hidden])').waitFor();
  const text = await cmd.locator('#modal-body').textContent();
  assert.match(text, new RegExp(`将通知 ${targeted} 人（当前在线 ${connected} 人）`));
  await shot(cmd, shotName);
  await cmd.click('#modal-ok');
  await cmd.locator('#modal').waitFor({ state: 'hidden' });
}

step('sign-in: /?token= signs in and leaves the address bar; /m drops its token too', async () => {
  cmd = await openPage(browser, '/?token=' + CMD_TOKEN);
  await cmd.locator('#conn.conn-online').waitFor();
  assert.ok(!cmd.url().includes('token='), 'token dropped from ' + cmd.url());
  assert.ok(await cmd.evaluate(() => !!sessionStorage.getItem('hub.cmd.token')));
  await cmd.locator('#who').filter({ hasText: '指挥' }).waitFor();
  resA = await member(S.resA, A);
  resB = await member(S.resB, B);
  assert.ok(!resA.url().includes('token='), 'token dropped from ' + resA.url());
  assert.equal(await resA.evaluate(() => localStorage.getItem('hub.m.token')), S.resA.token);
  await resA.locator('#who').filter({ hasText: S.resA.name }).waitFor();

  // A wrong token is refused with a clear message; so is a resident's.
  const bad = await openPage(browser, '/?token=not-a-token');
  await bad.locator('#signin-error').filter({ hasText: '令牌无效' }).waitFor();
  await shot(bad, 'signin-invalid');
  await bad.fill('#signin-token', S.resA.token);
  await bad.click('#signin-form button[type="submit"]');
  await bad.locator('#signin-error').filter({ hasText: '无权使用指挥中心' }).waitFor();
  await bad.context().close();
  await shot(cmd, 'command-center');
});

step('circle alert: the resident inside sees it full screen, the one outside does not', async () => {
  await cmd.fill('#c-title', `山洪预警 E2E ${S.run}`);
  await cmd.fill('#c-body', '请立即转移到高处');
  await cmd.click('#c-modes button[data-mode="circle"]');
  await cmd.evaluate(([lat, lng]) => void window.commandMap.setView([lat, lng], 13, { animate: false }), [A.lat, A.lng]);
  const c = await mapPoint(cmd, A.lat, A.lng);
  const e = await mapPoint(cmd, ...Object.values(east(A, 2000)));
  await cmd.mouse.click(c.x, c.y);
  await cmd.mouse.move(e.x, e.y, { steps: 4 });
  await cmd.mouse.click(e.x, e.y);
  const radius = Number(await cmd.inputValue('#c-radius'));
  assert.ok(Math.abs(radius - 2000) < 60, 'radius ' + radius);
  // resA and the patrol live at A; only resA is online.
  await sendFromCompose(2, 1, 'circle-confirm');
  await cmd.locator('.tabs button.active[data-tab="alerts"]').waitFor();

  const title = `山洪预警 E2E ${S.run}`;
  await resA.locator('#overlay:not([hidden]) #ov-title').filter({ hasText: title }).waitFor({ timeout: 5000 });
  await shot(resA, 'resident-inside-alert');
  await sleep(quiet);
  assert.equal(await resB.locator('#overlay').isHidden(), true, 'resident outside sees no alert');
  assert.equal(await resB.locator('[data-alert-id]').count(), 0);
  await shot(resB, 'resident-outside-nothing');
});

step('need help: the answer moves the commander\'s bars and fills the need-help list', async () => {
  await resA.click('#overlay button[data-resp="need_help"]');
  await resA.locator('#overlay').waitFor({ state: 'hidden' });
  await resA.locator('.alert-card .answered').filter({ hasText: '需要帮助' }).waitFor();
  await resA.waitForFunction(() => !document.querySelector('.alert-card .answered .muted'), null, { timeout: 5000 }); // stored, not queued
  await shot(resA, 'resident-answered');

  const card = cmd.locator('.acard').filter({ hasText: `山洪预警 E2E ${S.run}` });
  await card.locator('[data-k="a.need_help"] .bn').filter({ hasText: /^1 \/ 2$/ }).waitFor({ timeout: 5000 });
  await card.locator('[data-k="p.delivered"] .bn').filter({ hasText: /^[12] \/ 2$/ }).waitFor();
  const li = card.locator('.nh-list li').filter({ hasText: S.resA.name });
  await li.waitFor({ timeout: 5000 });
  assert.match(await li.textContent(), new RegExp(S.resA.phone.replace('+', '\\+')));
  assert.ok((await li.textContent()).includes(`住址 ${A.lat.toFixed(4)}, ${A.lng.toFixed(4)}`), 'the home position');
  const width = await card.locator('[data-k="a.need_help"] i').evaluate((i) => i.style.width);
  assert.equal(width, '50%');
  await sleep(700); // the bars' transition
  await shot(cmd, 'commander-need-help');
});

step('report with a photo: it reaches the commander\'s map and list, and the status change reaches the reporter', async () => {
  await resA.click('.m-tabs button[data-tab="report"]');
  await resA.locator('#where.ok').waitFor({ timeout: 10000 });
  await resA.click('#kinds button[data-kind="landslide"]');
  const text = `后山滑坡 E2E ${S.run}`;
  await resA.fill('#report-text', text);
  // A big camera-sized photo, drawn in the page, that the page must shrink.
  const jpeg = await resA.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 3000;
    c.height = 2000;
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 3000, 2000);
    grad.addColorStop(0, '#795548');
    grad.addColorStop(1, '#a5d6a7');
    g.fillStyle = grad;
    g.fillRect(0, 0, 3000, 2000);
    g.fillStyle = '#3e2723';
    g.beginPath();
    g.moveTo(400, 1900);
    g.lineTo(1500, 300);
    g.lineTo(2600, 1900);
    g.fill();
    return c.toDataURL('image/jpeg', 0.95).split(',')[1];
  });
  await resA.setInputFiles('#photo', { name: 'slide.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(jpeg, 'base64') });
  await resA.locator('#photo-preview:not([hidden])').waitFor();
  await shot(resA, 'report-form');
  await resA.click('#report-send');
  const mine = resA.locator('#my-reports [data-report-id]').filter({ hasText: text });
  await mine.waitFor({ timeout: 15000 });
  await mine.locator('.chip-status').filter({ hasText: '待受理' }).waitFor();
  const reportID = await mine.getAttribute('data-report-id');
  // The upload was shrunk: at most 1600 px a side.
  const photoSize = await mine.locator('img.thumb').evaluate(async (img) => {
    await img.decode();
    return [img.naturalWidth, img.naturalHeight];
  });
  assert.deepEqual(photoSize, [1600, 1067]);
  await shot(resA, 'report-sent');

  await cmdTab('reports');
  const card = cmd.locator(`.rcard[data-report-id="${reportID}"]`);
  await card.waitFor({ timeout: 5000 });
  assert.match(await card.textContent(), /山体滑坡/);
  assert.match(await card.textContent(), /剩余(29|30)分钟/); // due_at: 30 minutes for a landslide
  const w = await card.locator('img.rphoto').evaluate(async (img) => {
    await img.decode();
    return img.naturalWidth;
  });
  assert.equal(w, 1600, 'the photo loads in the command center');
  assert.ok(await cmd.evaluate((id) => window.hubCommand.cmap.reportMarkers.has(id), reportID), 'a marker on the map');
  await card.locator('a.rpos').click();
  await cmd.locator('.leaflet-popup .popup-photo').waitFor();
  await shot(cmd, 'commander-report');

  await card.locator('select.r-status').selectOption('accepted');
  await card.locator('textarea.r-feedback').fill('已派人处理，请远离山脚');
  await card.locator('button[data-act="save"]').click();
  await cmd.locator(`.rcard[data-report-id="${reportID}"] .chip-status`).filter({ hasText: '已受理' }).waitFor();

  await mine.locator('.chip-status').filter({ hasText: '已受理' }).waitFor({ timeout: 5000 });
  await mine.locator('.feedback-text').filter({ hasText: '已派人处理，请远离山脚' }).waitFor();
  await mine.scrollIntoViewIfNeeded();
  await shot(resA, 'reporter-sees-feedback');
  await cmd.evaluate(() => void window.commandMap.closePopup());
});

step('bulletin: a village bulletin reaches that village only', async () => {
  await cmdTab('bulletins');
  await cmd.selectOption('#b-village', S.va.id);
  await cmd.selectOption('#b-category', 'notice');
  const title = `停水通知 E2E ${S.run}`;
  await cmd.fill('#b-title', title);
  await cmd.fill('#b-body', '明日8点至12点停水');
  await cmd.click('#bulletin-form button[type="submit"]');
  await cmd.locator('#bulletins .bcard').filter({ hasText: title }).waitFor();

  await resA.locator('#badge-bulletins:not([hidden])').waitFor({ timeout: 5000 });
  await resA.click('.m-tabs button[data-tab="bulletins"]');
  const b = resA.locator('.bulletin').filter({ hasText: title });
  await b.waitFor();
  assert.equal(await b.evaluate((x) => x.classList.contains('unread')), true, 'marked unread');
  await shot(resA, 'bulletin-unread');
  await b.click();
  assert.equal(await b.evaluate((x) => x.classList.contains('unread')), false, 'read after a tap');

  await sleep(quiet);
  await resB.click('.m-tabs button[data-tab="bulletins"]');
  assert.equal(await resB.locator('.bulletin').filter({ hasText: title }).count(), 0, 'not in the other village');
  await shot(resB, 'bulletin-other-village');
  await resB.click('.m-tabs button[data-tab="alerts"]');
});

step('offline then online: the missed alert arrives once, and never again after a reload', async () => {
  await resB.context().setOffline(true);
  await resB.locator('#offline:not([hidden])').waitFor({ timeout: 5000 });
  await shot(resB, 'resident-offline');

  // Village B by the villages picker; resB is its only member, offline now.
  await cmdTab('compose');
  const title = `乙村转移通知 E2E ${S.run}`;
  await cmd.fill('#c-title', title);
  await cmd.fill('#c-body', '请到村委会集合');
  await cmd.click('#c-modes button[data-mode="villages"]');
  await cmd.fill('#c-village-search', S.run);
  await cmd.locator(`#c-village-list label[data-village-id="${S.vb.id}"] input`).check();
  await sendFromCompose(1, 0, 'villages-confirm');

  // A report made offline waits in the outbox, photo and all.
  await resB.click('.m-tabs button[data-tab="report"]');
  await resB.locator('#where.ok').waitFor({ timeout: 10000 });
  await resB.click('#kinds button[data-kind="road"]');
  const rtext = `道路塌方 E2E ${S.run}`;
  await resB.fill('#report-text', rtext);
  const png = await resB.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 640;
    c.height = 480;
    const g = c.getContext('2d');
    g.fillStyle = '#607d8b';
    g.fillRect(0, 0, 640, 480);
    return c.toDataURL('image/png').split(',')[1];
  });
  await resB.setInputFiles('#photo', { name: 'road.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  await resB.locator('#photo-preview:not([hidden])').waitFor();
  await resB.click('#report-send');
  await resB.locator('#my-reports .report-card.pending').filter({ hasText: rtext }).waitFor();
  await resB.locator('#badge-report:not([hidden])').waitFor();
  await shot(resB, 'report-waiting-offline');

  await sleep(500);
  assert.equal(await resB.locator('#overlay').isHidden(), true);
  await resB.context().setOffline(false);
  await resB.locator('#overlay:not([hidden]) #ov-title').filter({ hasText: title }).waitFor({ timeout: 15000 });
  await resB.locator('#conn.conn-online').waitFor();
  await sleep(quiet);
  const id = await resB.locator('#overlay').getAttribute('data-alert-id');
  assert.equal(await resB.evaluate((id) => window.hubResident.shownCount[id], id), 1, 'shown once');
  assert.equal(await resB.locator(`.alert-card[data-alert-id="${id}"]`).count(), 1, 'listed once');
  await shot(resB, 'resident-back-online');
  // The waiting report went out when the connection came back.
  await resB.locator('#my-reports [data-report-id]').filter({ hasText: rtext }).waitFor({ timeout: 10000 });
  assert.equal(await resB.locator('#my-reports .report-card.pending').count(), 0);
  assert.equal(await resB.evaluate(() => window.hubResident.state.outbox.length), 0);
  const { reports } = await api(CMD_TOKEN, 'GET', '/api/v1/reports?village_id=' + S.vb.id);
  const sent = reports.filter((r) => r.text === rtext);
  assert.equal(sent.length, 1, 'sent once');
  assert.equal(sent[0].photos.length, 1, 'with its photo');

  // A second drop of the connection replays nothing new.
  await resB.context().setOffline(true);
  await resB.locator('#offline:not([hidden])').waitFor();
  await resB.context().setOffline(false);
  await resB.locator('#conn.conn-online').waitFor({ timeout: 15000 });
  await sleep(quiet);
  assert.equal(await resB.evaluate((id) => window.hubResident.shownCount[id], id), 1, 'still shown once');

  await resB.click('#overlay button[data-resp="safe"]');
  await resB.reload();
  await resB.locator('#conn.conn-online').waitFor();
  await sleep(quiet);
  assert.equal(await resB.locator('#overlay').isHidden(), true, 'not shown again after a reload');
  assert.equal(await resB.locator(`.alert-card[data-alert-id="${id}"]`).count(), 1);
  await resB.locator(`.alert-card[data-alert-id="${id}"] .answered`).filter({ hasText: '安全' }).waitFor();
  await shot(resB, 'resident-after-reload');
});

step('patrol: sharing the live position puts the patrol on the command center\'s map', async () => {
  const at = { lat: A.lat + 0.004, lng: A.lng + 0.004 };
  const pat = await member(S.patA, at);
  // The circle alert covers the patrol's home: it takes the screen first.
  await pat.locator('#overlay:not([hidden])').waitFor({ timeout: 5000 });
  const alertID = await pat.locator('#overlay').getAttribute('data-alert-id');
  await pat.click('#overlay button[data-resp="received"]');
  await sleep(1000); // a first visit: the HTTP list, the welcome's push and the resume all bring it
  assert.equal(await pat.locator('#overlay').isHidden(), true, 'answered alert stays answered');
  assert.equal(await pat.evaluate((id) => window.hubResident.shownCount[id], alertID), 1, 'shown once on a first visit');
  await pat.locator('#patrol:not([hidden])').waitFor();
  await pat.locator('#patrol .switch-row').click();
  await pat.locator('#share-state.on').waitFor({ timeout: 10000 });
  await shot(pat, 'patrol-sharing');

  let live = null;
  for (let i = 0; i < 20 && !live; i++) {
    const { members } = await api(CMD_TOKEN, 'GET', '/api/v1/members?role=patrol');
    live = members.find((m) => m.id === S.patA.id)?.live;
    if (!live) await sleep(250);
  }
  assert.ok(live, 'the hub has the live position');
  assert.ok(Math.abs(live.lat - at.lat) < 1e-6 && Math.abs(live.lng - at.lng) < 1e-6);
  await cmd.evaluate(() => window.hubCommand.refreshPatrols().then(() => undefined));
  await cmd.waitForFunction(() => window.hubCommand.cmap.layers.patrols.getLayers().length > 0, null, { timeout: 5000 });
  await cmd.evaluate(([lat, lng]) => {
    window.commandMap.closePopup();
    window.commandMap.setView([lat, lng], 14, { animate: false });
  }, [A.lat, A.lng]);
  await sleep(300);
  await shot(cmd, 'commander-patrol-on-map');
  assert.deepEqual(pat.errors, []);
  await pat.context().close();
});

step('polygon and reach: drawn on the map, counted by the preview', async () => {
  await cmdTab('compose');
  await cmd.fill('#c-title', `多边形 E2E ${S.run}`);
  await cmd.evaluate(([lat, lng]) => void window.commandMap.setView([lat, lng], 13, { animate: false }), [A.lat, A.lng]);
  await cmd.click('#c-modes button[data-mode="polygon"]');
  const d = 0.01;
  for (const [dy, dx] of [[-d, -d], [-d, d], [d, d], [d, -d]]) {
    const p = await mapPoint(cmd, A.lat + dy, A.lng + dx);
    await cmd.mouse.click(p.x, p.y);
  }
  await cmd.click('#c-poly-done');
  // resA at home and the patrol's last live position are inside.
  await cmd.waitForFunction(() => document.querySelector('#c-targeted')?.textContent === '2', null, { timeout: 5000 });
  await shot(cmd, 'polygon-preview');

  await cmd.click('#c-modes button[data-mode="reach"]');
  await cmd.selectOption('#c-reach-mode', 'bike');
  await cmd.fill('#c-reach-min', '10');
  await cmd.dispatchEvent('#c-reach-min', 'change');
  await cmd.evaluate(([lat, lng]) => void window.commandMap.setView([lat, lng], 13, { animate: false }), [B.lat, B.lng]);
  const p = await mapPoint(cmd, ...Object.values(east(B, 1500)));
  await cmd.mouse.click(p.x, p.y);
  // 10 minutes by bike is 2.5 km: resB, 1.5 km away, is inside.
  await cmd.locator('#c-reach-desc').filter({ hasText: '骑行 10 分钟可达，半径约 2.5 km' }).waitFor();
  await cmd.waitForFunction(() => document.querySelector('#c-targeted')?.textContent === '1', null, { timeout: 5000 });
  await shot(cmd, 'reach-preview');
  await cmd.click('#c-clear');
  await cmd.locator('#c-preview').filter({ hasText: '请先划定范围' }).waitFor();
  await cmd.fill('#c-title', '');
});

step('cadre: the command center limits a cadre to its own village', async () => {
  const res = await api(CMD_TOKEN, 'POST', '/api/v1/members', {
    name: `甲村村干部赵六${S.run}`,
    phone: `+8613${S.run}90`,
    role: 'cadre',
    village_id: S.va.id,
    home: A,
  });
  const page = await openPage(browser, '/?token=' + res.token);
  await page.locator('#who').filter({ hasText: '村干部' }).waitFor();
  await page.locator('#c-modes button.active[data-mode="villages"]').waitFor();
  assert.deepEqual(
    await page.$$eval('#c-modes button', (bs) => bs.map((b) => [b.dataset.mode, b.disabled])),
    [['circle', true], ['polygon', true], ['villages', false], ['reach', true]],
  );
  assert.deepEqual(await page.$$eval('#c-village-list input', (is) => is.map((i) => [i.value, i.checked])), [[S.va.id, true]]);
  await page.waitForFunction(() => /范围内 \d+ 人/.test(document.querySelector('#c-preview').textContent));
  assert.deepEqual(await page.$$eval('#b-village option', (os) => os.map((o) => o.value)), [S.va.id]);
  // A cadre sees its own village's reports only: the landslide at A.
  await page.click('.tabs button[data-tab="reports"]');
  await page.locator('.rcard').filter({ hasText: `后山滑坡 E2E ${S.run}` }).waitFor();
  assert.equal(await page.locator('.rcard').filter({ hasText: `道路塌方 E2E ${S.run}` }).count(), 0);
  await page.click('.tabs button[data-tab="compose"]');
  await shot(page, 'cadre-compose');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

step('English is one click away, and the alert can be cancelled', async () => {
  await cmd.click('#lang');
  await cmd.locator('.tabs button[data-tab="alerts"]').filter({ hasText: 'Progress' }).waitFor();
  await cmdTab('alerts');
  const card = cmd.locator('.acard').filter({ hasText: `山洪预警 E2E ${S.run}` });
  await card.locator('h4').filter({ hasText: 'People who need help' }).waitFor();
  await shot(cmd, 'commander-english');

  await card.locator('button[data-act="cancel"]').click();
  await cmd.click('#modal-ok');
  await card.waitFor({ state: 'detached', timeout: 5000 });
  const id = await resA.evaluate((title) => Object.values(window.hubResident.state.alerts).find((r) => r.alert.title === title).alert.id, `山洪预警 E2E ${S.run}`);
  await resA.click('.m-tabs button[data-tab="alerts"]');
  await resA.locator(`.alert-card[data-alert-id="${id}"].status-cancelled`).waitFor({ timeout: 5000 });
  await resA.click('#lang');
  await resA.locator('.m-tabs button[data-tab="report"]').filter({ hasText: 'Report' }).waitFor();
  await shot(resA, 'resident-english-cancelled');
  await cmd.click('#lang'); // back to Chinese for whoever looks next
});

step('an alert cancelled elsewhere leaves the command center at once', async () => {
  await cmdTab('alerts');
  const title = `另一指挥员 E2E ${S.run}`;
  const { alert } = await api(CMD_TOKEN, 'POST', '/api/v1/alerts', {
    kind: 'warning', severity: 'moderate', title, body: '请注意',
    area: { circle: { lat: A.lat, lng: A.lng, radius_m: 500 } },
  });
  const card = cmd.locator('.acard').filter({ hasText: title });
  await card.waitFor({ timeout: 10000 });
  await api(CMD_TOKEN, 'POST', `/api/v1/alerts/${alert.id}/cancel`);
  // The page re-reads the active list every 30 s; the alert_progress status
  // must take the card away long before that.
  await card.waitFor({ state: 'detached', timeout: 5000 });
});
