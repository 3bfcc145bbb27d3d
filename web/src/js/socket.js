// socket: one WebSocket to the hub (docs/API.md "WebSocket") that reconnects by
// itself with exponential backoff and jitter, resumes from the last seen
// seq after each welcome, and notices a dead connection by an app-level
// ping (browsers do not expose WebSocket pings).

import { ApiError } from './api.js';

const pingEvery = 25000;
const pingTimeout = 10000;
const maxBackoff = 30000;

export class HubSocket {
  /**
   * @param {object} o
   * @param {string} o.token the member's token
   * @param {(member: object, seq: number) => void} [o.onWelcome]
   * @param {(ev: object) => void} o.onEvent every server event but welcome and reply
   * @param {(status: 'connecting'|'online'|'offline'|'replaced') => void} [o.onStatus]
   * @param {() => number|null} [o.since] the seq to resume from after each welcome; null: no resume
   * @param {(seq: number) => void} [o.onResumed] the resume reply's newest seq
   * @param {(failures: number) => void} [o.onFail] a connection closed before its welcome
   */
  constructor(o) {
    this.o = o;
    this.ws = null;
    this.ready = false;
    this.failures = 0;
    this.nextID = 1;
    this.pending = new Map();
    this.timer = null;
    this.pinger = null;
    this.stopped = false;
    this.status = 'connecting';
    addEventListener('online', () => this.reconnectNow());
    addEventListener('offline', () => this.drop());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.drop();
  }

  get connected() {
    return this.ready;
  }

  setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.o.onStatus && this.o.onStatus(s);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped || this.ws) return;
    this.setStatus(this.failures === 0 ? 'connecting' : 'offline');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(this.o.token)}`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (e) => this.onMessage(e.data);
    ws.onclose = (e) => this.onClosed(ws, e);
    ws.onerror = () => {}; // onclose follows
  }

  onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.type === 'welcome') {
      this.ready = true;
      this.failures = 0;
      this.setStatus('online');
      this.startPinger();
      this.o.onWelcome && this.o.onWelcome(msg.member, msg.seq);
      const since = this.o.since ? this.o.since() : null;
      if (since !== null && since !== undefined) {
        this.request({ type: 'resume', since }, 60000)
          .then((d) => this.o.onResumed && this.o.onResumed(d.seq))
          .catch(() => {});
      }
      return;
    }
    if (msg.type === 'reply') {
      const p = msg.id !== null && this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.data || {});
      else p.reject(new ApiError(400, msg.error?.code || 'error', msg.error?.message || 'error'));
      return;
    }
    this.o.onEvent(msg);
  }

  /** request sends a command with an id and resolves with the reply's data. */
  request(cmd, timeoutMs = 15000) {
    if (!this.ready || !this.ws) return Promise.reject(new ApiError(0, 'offline', 'not connected'));
    const id = 'c' + this.nextID++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError(0, 'offline', 'no reply'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.ws.send(JSON.stringify({ ...cmd, id }));
      } catch {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new ApiError(0, 'offline', 'not connected'));
      }
    });
  }

  startPinger() {
    clearInterval(this.pinger);
    const ws = this.ws;
    this.pinger = setInterval(() => {
      if (this.ws !== ws) return;
      this.request({ type: 'ping' }, pingTimeout).catch((e) => {
        if (e.offline && this.ws === ws) this.drop();
      });
    }, pingEvery);
  }

  onClosed(ws, e) {
    if (this.ws !== ws) return; // an old socket we already dropped
    this.cleanup();
    // The hub keeps a few connections per member (docs/API.md v1.4) and
    // closes the oldest when another opens: this page was left in the
    // background while the member opened it elsewhere. Reconnecting at
    // once would close that one, and so on between tabs: wait until this
    // page is looked at again (visibilitychange, or a tap on the status).
    if (e && e.code === 1008 && e.reason === 'replaced by a newer connection') {
      this.replaced = true;
      this.setStatus('replaced');
      return;
    }
    this.scheduleReconnect();
  }

  cleanup() {
    const wasReady = this.ready;
    this.ws = null;
    this.ready = false;
    clearInterval(this.pinger);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ApiError(0, 'offline', 'connection lost'));
    }
    this.pending.clear();
    if (!wasReady) {
      this.failures++;
      this.o.onFail && this.o.onFail(this.failures);
    } else {
      this.failures = Math.max(this.failures, 1);
    }
    this.setStatus('offline');
  }

  /** drop abandons the current socket at once (the browser went offline, or a ping got no answer). */
  drop() {
    const ws = this.ws;
    if (!ws) {
      if (!this.stopped) this.setStatus('offline');
      return;
    }
    ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000, 'client reconnects');
    } catch {
      // already closed
    }
    this.cleanup();
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped || this.replaced) return;
    clearTimeout(this.timer);
    const n = Math.min(this.failures, 10);
    const base = Math.min(maxBackoff, 500 * 2 ** n);
    const delay = base / 2 + Math.random() * (base / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    this.replaced = false;
    if (this.stopped || this.ws) return;
    if (navigator.onLine === false) return;
    this.failures = Math.min(this.failures, 1);
    this.connect();
  }
}
