// cmd-import: the 导入花名册 (import roster) panel. The county's
// spreadsheet (CSV or XLSX) goes to POST /api/v1/import/members (or
// /villages) as it is: first a dry run (?dry_run=1) that checks every row
// and writes nothing, shown as counts and a table of the rows in error
// (line, column, value, reason); "import" is enabled only once the dry
// run of that very file came back clean. Uploading shows its progress,
// then "processing" while the hub reads a large sheet (docs/API.md v1.5,
// issue 12). A CSV template is one click away.

import { t, onLangChange } from './i18n.js';
import { esc, toast } from './api.js';
import { confirmModal } from './cmd-modal.js';
import { fileSize } from './cmd-util.js';

const $ = (id) => document.getElementById(id);
const xlsxType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const timeoutMs = 5 * 60 * 1000; // 200,000 rows take well under a minute; a slow link more
const errorsShown = 200;

// The templates: the Chinese headers the county's sheet most likely has,
// and one example row. The UTF-8 byte order mark lets Excel open the CSV
// with the Chinese intact.
const templates = {
  members: '姓名,手机,村,角色,地址,纬度,经度,语言,出行方式\r\n张三,+8613800000000,城关村,村民,城关村1组12号,,,中文,步行\r\n',
  villages: '村名,乡镇,代码,纬度,经度\r\n城关村,龙洲街道,330825001001,29.0280,119.1720\r\n',
};

export class Import {
  constructor(ctx) {
    this.ctx = ctx; // {api, onImported(kind)}
    this.kind = 'members';
    this.file = null;
    this.checked = null; // {file, kind}: the dry run of this file was clean
    this.busy = false;
    this.report = null; // {report, dry, error}
    this.wire();
    this.renderStatic();
    onLangChange(() => {
      this.renderStatic();
      this.renderReport();
    });
  }

  wire() {
    for (const b of document.querySelectorAll('#imp-kind button')) {
      b.onclick = () => {
        this.kind = b.dataset.kind;
        this.reset();
        this.renderStatic();
      };
    }
    $('imp-file').onchange = () => {
      this.file = $('imp-file').files[0] || null;
      this.reset();
    };
    $('imp-check').onclick = () => this.run(true);
    $('imp-run').onclick = () => this.run(false);
  }

  renderStatic() {
    for (const b of document.querySelectorAll('#imp-kind button')) b.classList.toggle('active', b.dataset.kind === this.kind);
    $('imp-help').textContent = t('imp.help.' + this.kind);
    const a = $('imp-template');
    if (this.templateURL) URL.revokeObjectURL(this.templateURL);
    this.templateURL = URL.createObjectURL(new Blob(['\ufeff' + templates[this.kind]], { type: 'text/csv;charset=utf-8' }));
    a.href = this.templateURL;
    a.download = this.kind === 'members' ? '成员花名册模板.csv' : '村庄模板.csv';
    this.renderButtons();
  }

  /** reset forgets the last check: another file or kind must be checked again. */
  reset() {
    this.checked = null;
    this.report = null;
    this.renderReport();
    this.renderButtons();
  }

  renderButtons() {
    const clean = this.checked && this.checked.file === this.file && this.checked.kind === this.kind;
    $('imp-check').disabled = this.busy || !this.file;
    $('imp-run').disabled = this.busy || !clean;
    $('imp-run').title = clean ? '' : t('imp.need.check');
  }

  contentType(f) {
    if (/\.xlsx$/i.test(f.name) || f.type === xlsxType) return xlsxType;
    return 'text/csv';
  }

  /** run sends the file, as a dry run or for real. */
  async run(dry) {
    const f = this.file;
    if (!f) return;
    if (!dry) {
      const r = this.report && this.report.report;
      const ok = await confirmModal(
        t('imp.run'),
        t('imp.run.confirm', { file: f.name, n: r?.rows ?? 0, c: r?.created ?? 0, u: r?.updated ?? 0, s: r?.unchanged ?? 0 }),
        t('imp.run'),
      );
      if (!ok) return;
    }
    this.busy = true;
    this.renderButtons();
    const kind = this.kind;
    let out;
    try {
      out = await this.send(kind, f, dry);
    } finally {
      this.busy = false;
      this.progress(null);
    }
    if (this.file !== f || this.kind !== kind) return this.renderButtons(); // changed meanwhile
    this.report = { ...out, dry };
    this.checked = dry && out.ok && out.report && !(out.report.errors_total || (out.report.errors || []).length) ? { file: f, kind } : null;
    this.renderReport();
    this.renderButtons();
    if (!dry && out.ok) {
      toast(t('imp.done'), 'ok');
      this.ctx.onImported && this.ctx.onImported(kind);
    }
  }

  /** progress shows the upload's share, then "processing" (p === -1), or hides (null). */
  progress(p) {
    const box = $('imp-progress');
    box.hidden = p === null;
    if (p === null) return;
    box.classList.toggle('working', p < 0);
    box.querySelector('i').style.width = p < 0 ? '100%' : Math.round(p * 100) + '%';
    $('imp-progress-text').textContent = p < 0 ? t('imp.processing') : t('imp.uploading', { p: Math.round(p * 100) });
  }

  /**
   * send posts the file's bytes (XMLHttpRequest: fetch reports no upload
   * progress) and resolves to {ok, report, error}: a report beside an
   * error is the dry run's table of a file with errors (400).
   */
  send(kind, f, dry) {
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open('POST', `/api/v1/import/${kind}${dry ? '?dry_run=1' : ''}`);
      x.setRequestHeader('Authorization', 'Bearer ' + this.ctx.api.token);
      x.setRequestHeader('Content-Type', this.contentType(f));
      x.timeout = timeoutMs;
      this.progress(0);
      x.upload.onprogress = (e) => e.lengthComputable && this.progress(e.loaded / e.total);
      x.upload.onload = () => this.progress(-1);
      x.onload = () => {
        let data = null;
        try {
          data = JSON.parse(x.responseText);
        } catch {
          // not JSON
        }
        const report = data && data.import ? data.import : null;
        if (x.status >= 200 && x.status < 300) resolve({ ok: true, report, error: null });
        else {
          const err = (data && data.error) || {};
          resolve({ ok: false, report, error: { status: x.status, code: err.code || 'http_' + x.status, message: err.message || x.statusText } });
        }
      };
      x.onerror = () => resolve({ ok: false, report: null, error: { status: 0, code: 'offline', message: 'network error' } });
      x.ontimeout = () => resolve({ ok: false, report: null, error: { status: 0, code: 'offline', message: 'timeout' } });
      x.send(f);
    });
  }

  renderReport() {
    const box = $('imp-report');
    const rep = this.report;
    if (!rep) {
      box.innerHTML = this.file ? `<p class="help">${esc(t('imp.file.chosen', { name: this.file.name, size: fileSize(this.file.size) }))}</p>` : '';
      return;
    }
    const r = rep.report;
    const nErr = r ? r.errors_total ?? (r.errors || []).length : 0;
    let head;
    if (rep.dry && rep.ok && !nErr) head = `<div class="imp-status ok">${esc(t('imp.dry.ok'))}</div>`;
    else if (r && nErr) head = `<div class="imp-status bad">${esc(t('imp.dry.bad', { n: nErr }))}</div>`;
    else if (!rep.ok) head = `<div class="imp-status bad">${esc(t('imp.failed', { msg: rep.error.message }))}</div>`;
    else head = `<div class="imp-status ok">${esc(t('imp.done'))}</div>`;
    const counts = r
      ? `<div class="imp-counts">
          <span data-k="rows">${esc(t('imp.rows', { n: r.rows ?? 0 }))}</span>
          <span data-k="created">${esc(t('imp.created', { n: r.created ?? 0 }))}</span>
          <span data-k="updated">${esc(t('imp.updated', { n: r.updated ?? 0 }))}</span>
          <span data-k="unchanged">${esc(t('imp.unchanged', { n: r.unchanged ?? 0 }))}</span>
          ${nErr ? `<span data-k="errors" class="bad">${esc(t('imp.errors', { n: nErr }))}</span>` : ''}
        </div>`
      : '';
    const errs = r && r.errors ? r.errors.slice(0, errorsShown) : [];
    const table = errs.length
      ? `<table class="imp-errors">
          <thead><tr><th>${esc(t('imp.col.line'))}</th><th>${esc(t('imp.col.field'))}</th><th>${esc(t('imp.col.value'))}</th><th>${esc(t('imp.col.reason'))}</th></tr></thead>
          <tbody>${errs
            .map(
              (e) =>
                `<tr data-line="${esc(e.line)}"><td class="num">${esc(e.line)}</td><td>${esc(e.field || '')}</td><td class="val">${esc(e.value ?? '')}</td><td>${esc(e.reason || '')}</td></tr>`,
            )
            .join('')}</tbody>
        </table>
        ${nErr > errs.length ? `<p class="help">${esc(t('imp.errors.more', { n: errs.length, total: nErr }))}</p>` : ''}`
      : '';
    const warns = r && r.warnings && r.warnings.length ? r.warnings : [];
    const warnings = warns.length
      ? `<details class="imp-warnings"><summary>${esc(t('imp.warnings'))} (${warns.length})</summary><ul>${warns
          .slice(0, errorsShown)
          .map((w) => `<li>${esc(typeof w === 'string' ? w : [w.line, w.field, w.value, w.reason].filter((x) => x !== undefined && x !== '').join(' · '))}</li>`)
          .join('')}</ul></details>`
      : '';
    const file = this.file ? `<p class="help">${esc(t('imp.file.chosen', { name: this.file.name, size: fileSize(this.file.size) }))}</p>` : '';
    box.innerHTML = file + head + counts + table + warnings;
  }
}
