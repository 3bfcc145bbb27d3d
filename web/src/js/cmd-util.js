// cmd-util: small helpers of the command center's issue-12 panels.

import { t, duration } from './i18n.js';

/**
 * longDuration formats a number of seconds for people: "45秒", "20分钟",
 * "3小时20分", "2天7小时" (a county-wide SMS fallback can take days at one
 * SMS per second).
 */
export function longDuration(sec) {
  sec = Math.max(0, Math.round(Number(sec) || 0));
  if (sec < 60) return t('dur.sec', { n: sec });
  if (sec < 86400) return duration(sec);
  const h = Math.round(sec / 3600);
  return t('dur.day', { d: Math.floor(h / 24), h: h % 24 });
}

/** fileSize formats a byte count: "812 B", "34 KB", "5.2 MB". */
export function fileSize(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

/**
 * nextPage reads a paged list's cursor (docs/API.md v1.4: "next_before",
 * passed back as ?before=; token lists use "next" and ?after=) and returns
 * the query to ask for the next page, or "" on the last page.
 */
export function nextPage(res) {
  if (!res) return '';
  if (res.next_before) return 'before=' + encodeURIComponent(res.next_before);
  if (res.next_after) return 'after=' + encodeURIComponent(res.next_after);
  if (res.next) return 'after=' + encodeURIComponent(res.next);
  return '';
}

/** villageName is a village's name from the command center's map of villages, or "". */
export function villageName(villages, id) {
  const v = id && villages.get(id);
  return v ? v.name : '';
}

/** sortedVillages is the villages by township, then name, in Chinese order. */
export function sortedVillages(villages) {
  return [...villages.values()].sort((a, b) => ((a.township || '') + a.name).localeCompare((b.township || '') + b.name, 'zh-CN'));
}
