// The queues page: every queue of the account and region with its counts and live send and
// receive rates (the admin listing's counters, polled), a rate chart, a filter, FIFO and DLQ
// badges, and creating and deleting queues (CreateQueue, DeleteQueue).
import * as api from './api.js';
import { h, fill, notice, errorBox, confirmDialog, rate, badge, rateChart, chartMax, time } from './ui.js';

const POLL_MS = 2000;
const HISTORY = 60;

export function queuesPage(main) {
  let stopped = false;
  let timer = null;
  let filter = sessionStorage.getItem('cauda-console-filter') || '';
  let previous = null; // { at, byArn: {arn: {sent, received}} }
  const rates = new Map(); // arn -> { send, receive }
  const history = { send: [], receive: [] };
  let queues = [];

  const chartBox = h('div', { class: 'chart-box' });
  const totals = h('p', { class: 'muted totals', 'aria-live': 'off' });
  const tableBox = h('div', { class: 'table-wrap' });
  const status = h('div');
  const filterInput = h('input', {
    id: 'queue-filter', type: 'search', placeholder: 'Filter by name', value: filter,
    oninput: (e) => { filter = e.target.value; sessionStorage.setItem('cauda-console-filter', filter); render(); },
  });

  const createErr = h('div');
  const createForm = h('form', {
    class: 'create', 'aria-label': 'Create queue',
    onsubmit: async (e) => {
      e.preventDefault();
      const data = new FormData(createForm);
      let name = String(data.get('name')).trim();
      const fifo = data.get('fifo') === 'on' || name.endsWith('.fifo');
      if (fifo && !name.endsWith('.fifo')) name += '.fifo';
      const attributes = {};
      if (fifo) attributes.FifoQueue = 'true';
      if (fifo && data.get('cbd') === 'on') attributes.ContentBasedDeduplication = 'true';
      fill(createErr);
      try {
        await api.sqs('CreateQueue', { QueueName: name, Attributes: attributes });
        notice(`Queue ${name} created`);
        createForm.reset();
        await poll();
      } catch (x) {
        fill(createErr, errorBox(x));
      }
    },
  },
  h('label', { for: 'new-queue' }, 'New queue'),
  h('input', { id: 'new-queue', name: 'name', required: true, placeholder: 'name or name.fifo', pattern: '[A-Za-z0-9_\\-]{1,75}(\\.fifo)?', spellcheck: 'false' }),
  h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'fifo' }), 'FIFO'),
  h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'cbd' }), 'Content-based deduplication'),
  h('button', { type: 'submit' }, 'Create queue'));

  fill(main,
    h('div', { class: 'page-head' },
      h('h1', {}, 'Queues'),
      h('div', { class: 'filter' }, h('label', { for: 'queue-filter', class: 'sr-only' }, 'Filter queues by name'), filterInput)),
    status,
    h('section', { class: 'card', 'aria-labelledby': 'rates-title' },
      h('h2', { id: 'rates-title' }, 'Messages per second'),
      h('p', { class: 'legend' }, h('span', { class: 'key send' }), 'sent ', h('span', { class: 'key receive' }), 'received'),
      chartBox, totals),
    tableBox,
    h('section', { class: 'card' }, createForm, createErr));
  if (!document.activeElement || document.activeElement === document.body) main.focus({ preventScroll: true });

  function dlqArns() {
    return new Set(queues.map((q) => q.dead_letter_target_arn).filter(Boolean));
  }

  function render() {
    const dlqs = dlqArns();
    const f = filter.trim().toLowerCase();
    const shown = queues.filter((q) => !f || q.name.toLowerCase().includes(f));
    const rows = shown.map((q) => {
      const r = rates.get(q.arn) || {};
      const dlq = q.dead_letter_target_arn ? api.arnParts(q.dead_letter_target_arn).name : null;
      return h('tr', { dataset: { queue: q.name } },
        h('th', { scope: 'row' },
          h('a', { href: `#/queue/${encodeURIComponent(q.name)}`, dataset: { key: `open:${q.name}` } }, q.name), ' ',
          q.fifo ? badge('FIFO', 'fifo') : null, ' ',
          dlqs.has(q.arn) ? badge('DLQ', 'dlq') : null,
          dlq ? h('div', { class: 'muted small' }, 'dead letters → ', h('a', { href: `#/queue/${encodeURIComponent(dlq)}` }, dlq)) : null),
        h('td', { class: 'num', dataset: { col: 'visible' } }, q.visible),
        h('td', { class: 'num', dataset: { col: 'inflight' } }, q.inflight),
        h('td', { class: 'num', dataset: { col: 'delayed' } }, q.delayed),
        h('td', { class: 'num hide-narrow', dataset: { col: 'sent-rate' } }, rate(r.send ?? NaN)),
        h('td', { class: 'num hide-narrow', dataset: { col: 'received-rate' } }, rate(r.receive ?? NaN)),
        h('td', { class: 'hide-narrow' }, time(q.oldest_sent_at)),
        h('td', {}, h('button', {
          class: 'danger small', 'aria-label': `Delete queue ${q.name}`, dataset: { key: `delete:${q.name}` },
          onclick: async () => {
            if (!await confirmDialog(`Delete queue ${q.name} and all its messages?`, 'Delete queue')) return;
            try {
              await api.sqs('DeleteQueue', { QueueUrl: q.url });
              notice(`Queue ${q.name} deleted`);
              await poll();
            } catch (x) { notice(x.message, 'error'); }
          },
        }, h('span', { class: 'hide-narrow' }, 'Delete'), h('span', { class: 'narrow-only', 'aria-hidden': 'true' }, '✕'))));
    });
    const table = h('table', { class: 'queues' },
      h('caption', { class: 'sr-only' }, 'Queues with their message counts and rates'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col', class: 'num' }, 'Visible'),
        h('th', { scope: 'col', class: 'num' }, 'In flight'),
        h('th', { scope: 'col', class: 'num' }, 'Delayed'),
        h('th', { scope: 'col', class: 'num hide-narrow' }, 'Sent/s'),
        h('th', { scope: 'col', class: 'num hide-narrow' }, 'Received/s'),
        h('th', { scope: 'col', class: 'hide-narrow' }, 'Oldest message'),
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
      h('tbody', {}, rows));
    // The table is rebuilt at every poll: keyboard focus stays on the same link or button.
    const focused = tableBox.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    fill(tableBox, shown.length ? table
      : h('p', { class: 'empty' }, queues.length ? 'No queue matches the filter.' : 'No queues in this account and region yet.'));
    if (focused) tableBox.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
    const series = [
      { label: 'sent', cls: 'send', points: history.send },
      { label: 'received', cls: 'receive', points: history.receive },
    ];
    fill(chartBox, h('span', { class: 'axis' }, `scale 0 to ${rate(chartMax(series))}/s`),
      rateChart(series, { title: 'Messages per second, last two minutes' }));
    const sum = (k) => queues.reduce((a, q) => a + q[k], 0);
    fill(totals, `${queues.length} ${queues.length === 1 ? 'queue' : 'queues'} · ${sum('visible')} visible · ${sum('inflight')} in flight · ${sum('delayed')} delayed · `
      + `${rate(history.send.at(-1) ?? 0)} sent/s · ${rate(history.receive.at(-1) ?? 0)} received/s`);
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const listed = await api.admin('GET', 'queues');
      const at = performance.now();
      queues = listed.queues.sort((a, b) => a.name.localeCompare(b.name));
      if (previous) {
        const dt = (at - previous.at) / 1000;
        let send = 0; let receive = 0;
        for (const q of queues) {
          const p = previous.byArn[q.arn];
          if (!p || dt <= 0) continue;
          const r = { send: Math.max(0, q.sent - p.sent) / dt, receive: Math.max(0, q.received - p.received) / dt };
          rates.set(q.arn, r);
          send += r.send; receive += r.receive;
        }
        history.send.push(send); history.receive.push(receive);
        if (history.send.length > HISTORY) { history.send.shift(); history.receive.shift(); }
      }
      previous = { at, byArn: Object.fromEntries(queues.map((q) => [q.arn, q])) };
      fill(status);
      render();
    } catch (x) {
      fill(status, errorBox(x));
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  poll();
  return () => { stopped = true; clearTimeout(timer); };
}
