// Small DOM helpers: element building, notices, a confirmation dialog, formatting, the rate chart.

/** h('button', {class: 'x', onclick}, 'text', child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let noticeTimer = null;
/** A short message at the top of the page (kind: 'ok' | 'error'). */
export function notice(text, kind = 'ok') {
  const el = document.getElementById('notice');
  fill(el, h('span', {}, text));
  el.className = `notice show ${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.className = 'notice'; }, kind === 'error' ? 8000 : 4000);
}

/** An inline error box for a form or section. */
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, String(err && err.message ? err.message : err));
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('form', { method: 'dialog' },
        h('p', { id: 'confirm-text' }, message),
        h('div', { class: 'row end' },
          h('button', { value: 'cancel', class: 'secondary', autofocus: true }, 'Cancel'),
          h('button', { value: 'confirm', class: 'danger' }, confirmLabel))));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Epoch milliseconds as a local date and time. */
export function time(ms) {
  if (ms === null || ms === undefined || ms === '' || Number(ms) === 0) return '—';
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? String(ms) : d.toLocaleString();
}

/** A duration in seconds, briefly. */
export function seconds(s) {
  s = Number(s);
  if (!Number.isFinite(s)) return '—';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function rate(r) {
  if (!Number.isFinite(r)) return '—';
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

/** A body shown as it is, or pretty-printed when it is JSON. */
export function prettyBody(body) {
  const t = String(body ?? '').trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    try { return { text: JSON.stringify(JSON.parse(t), null, 2), json: true }; } catch { /* not JSON */ }
  }
  return { text: String(body ?? ''), json: false };
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

/** The top of a rate chart's scale: its highest point, at least 1/s. */
export function chartMax(series) {
  return Math.max(1, ...series.flatMap((s) => s.points));
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * A line chart of rate series (messages/s), newest on the right. series: [{label, cls,
 * points: [number]}]. Inline SVG, scaled to its box.
 */
export function rateChart(series, { width = 600, height = 120, title = 'Rates' } = {}) {
  const max = chartMax(series);
  const n = Math.max(2, ...series.map((s) => s.points.length));
  const pad = 4;
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', preserveAspectRatio: 'none',
    'aria-label': `${title}: ${series.map((s) => `${s.label} ${rate(s.points.at(-1) ?? 0)}/s`).join(', ')}`,
  });
  for (const f of [0.25, 0.5, 0.75]) {
    const y = pad + (height - 2 * pad) * f;
    root.append(svg('line', { x1: 0, x2: width, y1: y, y2: y, class: 'gridline' }));
  }
  for (const s of series) {
    const pts = s.points.map((v, i) => {
      const x = ((n - s.points.length + i) / (n - 1)) * width;
      const y = height - pad - (v / max) * (height - 2 * pad);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (pts.length) root.append(svg('polyline', { points: pts.join(' '), class: `line ${s.cls}` }));
  }
  return root;
}
