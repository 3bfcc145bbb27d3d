// api: the HTTP side of the public contract (docs/API.md), with the member's
// bearer token.

/** ApiError is an API error object ({"error":{"code","message"}}) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
  /** offline reports whether the request never reached the hub. */
  get offline() {
    return this.status === 0;
  }
}

const timeoutMs = 20000;

export class Api {
  constructor(token) {
    this.token = token;
  }

  /** req sends one JSON request and returns the decoded JSON answer, or throws ApiError. */
  async req(method, path, body) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    let res;
    try {
      res = await fetch(path, {
        method,
        headers: {
          ...(this.token ? { Authorization: 'Bearer ' + this.token } : {}),
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: ctl.signal,
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'offline', e.name === 'AbortError' ? 'timeout' : e.message);
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      // not JSON: keep null
    }
    if (!res.ok) {
      const err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
    }
    return data;
  }

  get(path) {
    return this.req('GET', path);
  }
  post(path, body) {
    return this.req('POST', path, body ?? {});
  }
  patch(path, body) {
    return this.req('PATCH', path, body);
  }

  /**
   * upload posts image bytes to /api/v1/media with upload progress
   * (fetch has none, so XMLHttpRequest), resolving to the media object.
   */
  upload(blob, onProgress) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open('POST', '/api/v1/media');
      x.setRequestHeader('Authorization', 'Bearer ' + this.token);
      x.setRequestHeader('Content-Type', blob.type);
      x.timeout = 120000;
      x.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
      x.onload = () => {
        let data = null;
        try {
          data = JSON.parse(x.responseText);
        } catch {
          // keep null
        }
        if (x.status >= 200 && x.status < 300 && data && data.media) resolve(data.media);
        else {
          const err = (data && data.error) || {};
          reject(new ApiError(x.status, err.code || 'http_' + x.status, err.message || x.statusText));
        }
      };
      x.onerror = () => reject(new ApiError(0, 'offline', 'network error'));
      x.ontimeout = () => reject(new ApiError(0, 'offline', 'timeout'));
      x.send(blob);
    });
  }

  /** mediaURL is an image URL an <img> can load (browsers cannot set headers). */
  mediaURL(id) {
    return '/api/v1/media/' + encodeURIComponent(id) + '?token=' + encodeURIComponent(this.token);
  }
}

/** tokenFromURL reads ?token= and drops it from the address bar. */
export function tokenFromURL() {
  return paramFromURL('token');
}

/** paramFromURL reads a query parameter and drops it from the address bar (a secret must not stay in the history). */
export function paramFromURL(name) {
  const u = new URL(location.href);
  const v = u.searchParams.get(name);
  if (v !== null) {
    u.searchParams.delete(name);
    history.replaceState(null, '', u.pathname + (u.search ? u.search : '') + u.hash);
  }
  return v;
}

/** esc escapes text for HTML. */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** el builds an element from an HTML string (one root). */
export function el(html) {
  const tpl = document.createElement('template');
  tpl.innerHTML = html.trim();
  return tpl.content.firstElementChild;
}

/** toast shows a short message at the bottom of the page. */
export function toast(msg, kind = 'info', ms = 3500) {
  let box = document.getElementById('toasts');
  if (!box) {
    box = document.createElement('div');
    box.id = 'toasts';
    box.setAttribute('role', 'status');
    box.setAttribute('aria-live', 'polite');
    document.body.appendChild(box);
  }
  const n = document.createElement('div');
  n.className = 'toast toast-' + kind;
  n.textContent = msg;
  box.appendChild(n);
  setTimeout(() => n.remove(), ms);
}
