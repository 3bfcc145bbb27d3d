// Helpers for the end-to-end tests: the hub's API (as the tests' own
// client, to set the scene), the browser, and screenshots.

import { chromium } from 'playwright-core';
import { mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const HUB = process.env.HUB_URL || 'http://127.0.0.1:18080';
export const CMD_TOKEN = process.env.HUB_CMD_TOKEN;
// The second hub (web/e2e.sh): an empty store and an MBTiles basemap.
export const HUB2 = process.env.HUB2_URL;
export const HUB2_ADMIN = process.env.HUB2_ADMIN_TOKEN;
const here = path.dirname(fileURLToPath(import.meta.url));
export const shotsDir = process.env.HUB_SHOTS || path.join(here, 'screenshots');
mkdirSync(shotsDir, { recursive: true });

/** api calls the hub with a token and returns the JSON answer; a non-2xx status throws. */
export function api(token, method, p, body) {
  return apiAt(HUB, token, method, p, body);
}

/** apiAt is api on the hub at base. */
export async function apiAt(base, token, method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// Two test villages north-east of the demo county (the demo's homes end
// near 29.14 N, 119.32 E), about 9.7 km apart, so a 2 km circle around one
// never touches the other or any demo home. Each run takes one of 50 slots
// 5 km or more apart, so that running the tests again against the same hub
// (web/e2e.sh always starts a fresh one) rarely meets the last run's
// members.
// Every test file runs in its own process against the one hub: each takes
// its own slot (its place among the test files), so no two files of a run
// share a village area; a script outside the list takes a random one.
const testFiles = readdirSync(path.dirname(fileURLToPath(import.meta.url))).filter((f) => f.endsWith('.test.mjs')).sort();
const mine = testFiles.indexOf(path.basename(process.argv[1] || ''));
const slot = mine >= 0 ? mine % 50 : Math.floor(Math.random() * 50);
export const A = { lat: 29.2 + 0.05 * (slot % 10), lng: 119.4 + 0.2 * Math.floor(slot / 10) };
export const B = { lat: A.lat, lng: A.lng + 0.1 };

/** seed creates the villages and members the tests use, with fresh phone numbers. */
export async function seed() {
  const run = Date.now().toString().slice(-7);
  let n = 0;
  const phone = () => `+8613${run}${String(n++).padStart(2, "0")}`;
  const village = async (name, c) =>
    (await api(CMD_TOKEN, 'POST', '/api/v1/villages', { name: `${name}（E2E ${run}）`, township: '测试镇', center: c })).village;
  const va = await village('测试甲村', A);
  const vb = await village('测试乙村', B);
  const member = async (name, role, v, home) => {
    const res = await api(CMD_TOKEN, 'POST', '/api/v1/members', { name, phone: phone(), role, village_id: v.id, home });
    return { ...res.member, token: res.token };
  };
  return {
    run,
    va,
    vb,
    resA: await member(`甲村村民张三${run}`, 'resident', va, A),
    resB: await member(`乙村村民李四${run}`, 'resident', vb, B),
    patA: await member(`甲村网格员王五${run}`, 'patrol', va, { lat: A.lat + 0.003, lng: A.lng }),
  };
}

/** launch starts the system Chromium (Debian's package; never a downloaded build). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** page opens a page (a path of the first hub, or a whole URL) in a fresh context (its own storage), collecting console errors. */
export async function openPage(browser, url, opts = {}) {
  const ctx = await browser.newContext({
    locale: opts.locale || 'zh-CN',
    viewport: opts.viewport || { width: 1360, height: 860 },
    deviceScaleFactor: 1,
    isMobile: !!opts.mobile,
    hasTouch: !!opts.mobile,
    geolocation: opts.geolocation,
    permissions: opts.geolocation ? ['geolocation'] : [],
  });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // The browser logs a failed WebSocket connection (the tests take pages
  // offline on purpose); anything else logged as an error is a bug.
  const expected = /^WebSocket connection to .* failed|^Failed to load resource: net::ERR_INTERNET_DISCONNECTED/;
  page.on('console', (m) => m.type() === 'error' && !expected.test(m.text()) && page.errors.push(m.text()));
  await page.goto(/^https?:/.test(url) ? url : HUB + url);
  return page;
}

export const phone = { width: 390, height: 780 };

let shotN = 0;
// The test file's name starts its screenshots' names (each file runs in a process of its own).
const shotPrefix = path.basename(process.argv[1] || 'e2e', '.test.mjs');
/** shot saves a numbered screenshot of the page. */
export async function shot(page, name) {
  shotN++;
  const file = path.join(shotsDir, `${shotPrefix}-${String(shotN).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mapPoint is where a lat/lng is on the command center's map, in page pixels. */
export async function mapPoint(page, lat, lng) {
  return page.evaluate(
    ([lat, lng]) => {
      const m = window.commandMap;
      const p = m.latLngToContainerPoint([lat, lng]);
      const r = m.getContainer().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    },
    [lat, lng],
  );
}

/** offset moves a point by metres east (small distances). */
export function east(p, metres) {
  return { lat: p.lat, lng: p.lng + metres / (6371008.8 * Math.cos((p.lat * Math.PI) / 180)) * (180 / Math.PI) };
}
