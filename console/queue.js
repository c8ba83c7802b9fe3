// One queue: live counts, the message browser (a peek through the admin API: no visibility
// or receive count changes), send, delete by id, purge, attributes, tags, dead-letter wiring
// both ways and DLQ redrive (message move tasks). Everything but the peek and the delete by
// id is an ordinary SQS action.
import * as api from './api.js';
import { h, fill, notice, errorBox, confirmDialog, time, seconds, prettyBody, badge } from './ui.js';

const POLL_MS = 2000;

/** Queue attributes SetQueueAttributes accepts: [name, kind, only on FIFO?, hint]. */
const EDITABLE = [
  ['VisibilityTimeout', 'number', false, '0–43200 seconds'],
  ['MessageRetentionPeriod', 'number', false, '60–1209600 seconds'],
  ['DelaySeconds', 'number', false, '0–900 seconds'],
  ['ReceiveMessageWaitTimeSeconds', 'number', false, '0–20 seconds'],
  ['MaximumMessageSize', 'number', false, '1024–1048576 bytes'],
  ['ContentBasedDeduplication', ['true', 'false'], true],
  ['DeduplicationScope', ['queue', 'messageGroup'], true],
  ['FifoThroughputLimit', ['perQueue', 'perMessageGroupId'], true],
  ['RedrivePolicy', 'json', false, '{"deadLetterTargetArn":"arn:…","maxReceiveCount":5}; empty removes it'],
  ['RedriveAllowPolicy', 'json', false, '{"redrivePermission":"allowAll"}'],
  ['Policy', 'json', false, 'a queue policy document'],
  ['SqsManagedSseEnabled', ['true', 'false'], false],
  ['KmsMasterKeyId', 'text', false],
  ['KmsDataKeyReusePeriodSeconds', 'number', false, '60–86400 seconds'],
];
const READ_ONLY = ['QueueArn', 'FifoQueue', 'CreatedTimestamp', 'LastModifiedTimestamp',
  'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'];

export function queuePage(main, name) {
  let stopped = false;
  let timer = null;
  let url = null;
  let account = null;
  let attrs = {};
  let fifo = name.endsWith('.fifo');
  const pages = [null]; // `after` of each page shown so far; the last is the current one
  let browse = { state: 'all', limit: 25 };

  const countsBox = h('dl', { class: 'counts', 'aria-live': 'off' });
  const headStatus = h('div');
  const messagesBox = h('div', { class: 'messages' });
  const pager = h('div', { class: 'row pager' });
  const sendBox = h('div');
  const wiringBox = h('div');
  const tasksBox = h('div');
  const attrsBox = h('div');
  const tagsBox = h('div');

  fill(main,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Queues'), ' / ', name),
    h('div', { class: 'page-head' },
      h('h1', {}, name, ' ', fifo ? badge('FIFO', 'fifo') : null, h('span', { id: 'dlq-badge' })),
      h('div', { class: 'row' },
        h('button', { class: 'danger', onclick: purge }, 'Purge queue'))),
    headStatus,
    countsBox,
    h('section', { class: 'card', 'aria-labelledby': 'messages-title' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'messages-title' }, 'Messages'),
        h('p', { class: 'muted small' }, 'A peek: it changes no visibility and counts no receive.')),
      browseControls(), messagesBox, pager),
    h('section', { class: 'card', 'aria-labelledby': 'send-title' },
      h('h2', { id: 'send-title' }, 'Send a message'), sendBox),
    h('section', { class: 'card', 'aria-labelledby': 'wiring-title' },
      h('h2', { id: 'wiring-title' }, 'Dead-letter wiring and redrive'), wiringBox, tasksBox),
    h('section', { class: 'card', 'aria-labelledby': 'attrs-title' },
      h('h2', { id: 'attrs-title' }, 'Attributes'), attrsBox),
    h('section', { class: 'card', 'aria-labelledby': 'tags-title' },
      h('h2', { id: 'tags-title' }, 'Tags'), tagsBox));
  main.focus({ preventScroll: true });

  function browseControls() {
    const state = h('select', { id: 'peek-state', onchange: (e) => { browse.state = e.target.value; firstPage(); } },
      ...['all', 'visible', 'inflight', 'delayed'].map((s) => h('option', { value: s }, s === 'inflight' ? 'in flight' : s)));
    const limit = h('select', { id: 'peek-limit', onchange: (e) => { browse.limit = Number(e.target.value); firstPage(); } },
      ...[10, 25, 100].map((n) => h('option', { value: n, selected: n === browse.limit }, n)));
    return h('div', { class: 'row controls' },
      h('label', { for: 'peek-state' }, 'State'), state,
      h('label', { for: 'peek-limit' }, 'Per page'), limit,
      h('button', { class: 'secondary', onclick: () => loadMessages() }, 'Refresh messages'));
  }

  function firstPage() { pages.length = 1; loadMessages(); }

  async function loadMessages() {
    const after = pages.at(-1);
    const q = new URLSearchParams({ state: browse.state, limit: String(browse.limit) });
    if (after !== null) q.set('after', String(after));
    try {
      const page = await api.admin('GET', `queues/${encodeURIComponent(account)}/${encodeURIComponent(name)}/messages?${q}`);
      fill(messagesBox, page.messages.length
        ? page.messages.map(messageView)
        : h('p', { class: 'empty' }, pages.length > 1 ? 'No more messages.' : 'No messages in this state.'));
      const full = page.messages.length === browse.limit && page.next_after !== null;
      fill(pager,
        h('button', { class: 'secondary', disabled: pages.length <= 1, onclick: () => { pages.pop(); loadMessages(); } }, '← Previous page'),
        h('span', { class: 'muted' }, `page ${pages.length}`),
        h('button', { class: 'secondary', disabled: !full, onclick: () => { pages.push(page.next_after); loadMessages(); } }, 'Next page →'));
    } catch (x) {
      fill(messagesBox, errorBox(x));
    }
  }

  function messageView(m) {
    const body = prettyBody(m.body);
    const system = Object.entries(m.attributes).filter(([, v]) => v !== null && v !== undefined);
    const stateKind = { visible: 'ok', inflight: 'warn', delayed: 'info' }[m.state];
    return h('article', { class: 'msg', dataset: { messageId: m.message_id }, 'aria-label': `Message ${m.message_id}` },
      h('div', { class: 'msg-head' },
        badge(m.state === 'inflight' ? 'in flight' : m.state, stateKind),
        h('code', { class: 'id' }, m.message_id),
        h('span', { class: 'muted', 'data-receive-count': m.receive_count }, `received ${m.receive_count}×`),
        h('span', { class: 'muted' }, `sent ${time(m.sent_at)}`),
        m.state !== 'visible' ? h('span', { class: 'muted' }, `visible at ${time(m.visible_at)}`) : null,
        h('button', {
          class: 'danger small', 'aria-label': `Delete message ${m.message_id}`,
          onclick: async () => {
            if (!await confirmDialog(`Delete message ${m.message_id}?`, 'Delete message')) return;
            try {
              await api.admin('DELETE', `queues/${encodeURIComponent(account)}/${encodeURIComponent(name)}/messages/${encodeURIComponent(m.message_id)}`);
              notice(`Message ${m.message_id} deleted`);
              await loadMessages();
              await refreshCounts();
            } catch (x) { notice(x.message, 'error'); }
          },
        }, 'Delete')),
      h('pre', { class: `body${body.json ? ' json' : ''}`, tabindex: 0, 'aria-label': 'Body' }, body.text),
      h('details', {},
        h('summary', {}, `Attributes (${Object.keys(m.message_attributes).length} message, ${system.length} system)`),
        kv(Object.entries(m.message_attributes).map(([k, v]) => [k, `${v.DataType}: ${v.StringValue ?? v.BinaryValue ?? ''}`]), 'No message attributes.'),
        kv(system.map(([k, v]) => [k, /Timestamp$/.test(k) ? `${v} (${time(v)})` : v]))));
  }

  function kv(pairs, empty) {
    if (!pairs.length) return empty ? h('p', { class: 'muted small' }, empty) : null;
    return h('dl', { class: 'kv' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  }

  function sendForm() {
    const err = h('div');
    const attrRows = h('div', { class: 'attr-rows' });
    let n = 0;
    const addAttr = () => {
      n += 1;
      const row = h('fieldset', { class: 'row attr' },
        h('legend', { class: 'sr-only' }, `Message attribute ${n}`),
        h('label', { for: `ma-name-${n}` }, 'Name'), h('input', { id: `ma-name-${n}`, name: 'ma-name', required: true, spellcheck: 'false' }),
        h('label', { for: `ma-type-${n}` }, 'Type'),
        h('select', { id: `ma-type-${n}`, name: 'ma-type' }, ['String', 'Number', 'Binary'].map((t) => h('option', {}, t))),
        h('label', { for: `ma-value-${n}` }, 'Value'), h('input', { id: `ma-value-${n}`, name: 'ma-value', spellcheck: 'false' }),
        h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove message attribute ${n}`, onclick: () => row.remove() }, 'Remove'));
      attrRows.append(row);
      row.querySelector('input').focus();
    };
    const form = h('form', {
      class: 'send', 'aria-label': 'Send a message',
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        const params = { QueueUrl: url, MessageBody: String(data.get('body')) };
        const group = String(data.get('group') || '').trim();
        const dedup = String(data.get('dedup') || '').trim();
        const delay = String(data.get('delay') || '').trim();
        if (group) params.MessageGroupId = group;
        if (dedup) params.MessageDeduplicationId = dedup;
        if (delay) params.DelaySeconds = Number(delay);
        const names = data.getAll('ma-name'); const types = data.getAll('ma-type'); const values = data.getAll('ma-value');
        if (names.length) {
          params.MessageAttributes = {};
          names.forEach((k, i) => {
            const v = String(values[i]);
            params.MessageAttributes[String(k).trim()] = types[i] === 'Binary'
              ? { DataType: 'Binary', BinaryValue: btoa(v) }
              : { DataType: String(types[i]), StringValue: v };
          });
        }
        fill(err);
        try {
          const r = await api.sqs('SendMessage', params);
          notice(`Message ${r.MessageId} sent`);
          form.querySelector('textarea').value = '';
          await loadMessages();
          await refreshCounts();
        } catch (x) { fill(err, errorBox(x)); }
      },
    },
    h('label', { for: 'send-body' }, 'Body'),
    h('textarea', { id: 'send-body', name: 'body', rows: 5, required: true, spellcheck: 'false' }),
    h('div', { class: 'grid' },
      h('div', {}, h('label', { for: 'send-group' }, fifo ? 'MessageGroupId (required)' : 'MessageGroupId (fair queues)'),
        h('input', { id: 'send-group', name: 'group', required: fifo, spellcheck: 'false' })),
      fifo ? h('div', {}, h('label', { for: 'send-dedup' }, 'MessageDeduplicationId'),
        h('input', { id: 'send-dedup', name: 'dedup', spellcheck: 'false' })) : null,
      fifo ? null : h('div', {}, h('label', { for: 'send-delay' }, 'DelaySeconds'),
        h('input', { id: 'send-delay', name: 'delay', type: 'number', min: 0, max: 900, inputmode: 'numeric' }))),
    attrRows,
    err,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', onclick: addAttr }, 'Add message attribute'),
      h('button', { type: 'submit' }, 'Send message')));
    fill(sendBox, form);
  }

  async function purge() {
    if (!await confirmDialog(`Purge ${name}? Every message in it is deleted.`, 'Purge queue')) return;
    try {
      await api.sqs('PurgeQueue', { QueueUrl: url });
      notice(`Queue ${name} purged`);
      firstPage();
      await refreshCounts();
    } catch (x) { notice(x.message, 'error'); }
  }

  async function refreshCounts() {
    const r = await api.sqs('GetQueueAttributes', { QueueUrl: url, AttributeNames: ['All'] });
    attrs = r.Attributes || {};
    fifo = attrs.FifoQueue === 'true';
    fill(countsBox,
      [['Visible', 'ApproximateNumberOfMessages', 'visible'], ['In flight', 'ApproximateNumberOfMessagesNotVisible', 'inflight'],
        ['Delayed', 'ApproximateNumberOfMessagesDelayed', 'delayed']].map(([label, k, key]) =>
        h('div', { dataset: { count: key } }, h('dt', {}, label), h('dd', {}, attrs[k] ?? '—'))),
      h('div', { class: 'wide' }, h('dt', {}, 'URL'), h('dd', {}, h('code', {}, url))),
      h('div', { class: 'wide' }, h('dt', {}, 'ARN'), h('dd', {}, h('code', {}, attrs.QueueArn ?? ''))));
  }

  function attributesForm() {
    const err = h('div');
    const fields = EDITABLE.filter(([, , fifoOnly]) => fifo || !fifoOnly).map(([k, kind, , hint]) => {
      const id = `attr-${k}`;
      const value = attrs[k] ?? '';
      let input;
      if (Array.isArray(kind)) {
        input = h('select', { id, name: k }, (value === '' ? [''] : []).concat(kind).map((o) => h('option', { value: o, selected: o === value }, o)));
      } else if (kind === 'json') {
        let pretty = value;
        try { if (value) pretty = JSON.stringify(JSON.parse(value), null, 2); } catch { /* shown as is */ }
        input = h('textarea', { id, name: k, rows: value ? Math.min(10, pretty.split('\n').length + 1) : 2, spellcheck: 'false', placeholder: hint || '' });
        input.value = pretty;
        input.dataset.original = value;
      } else {
        input = h('input', { id, name: k, value, type: kind === 'number' ? 'number' : 'text', spellcheck: 'false' });
      }
      return h('div', { class: kind === 'json' ? 'field wide' : 'field' },
        h('label', { for: id }, k), input, hint && kind !== 'json' ? h('span', { class: 'muted small' }, hint) : null);
    });
    const form = h('form', {
      'aria-label': 'Queue attributes',
      onsubmit: async (e) => {
        e.preventDefault();
        const changed = {};
        for (const el of form.querySelectorAll('input, select, textarea')) {
          const before = attrs[el.name] ?? '';
          let now = el.value;
          if (el.tagName === 'TEXTAREA') {
            // A JSON document compared by content, sent compact.
            try { now = now.trim() ? JSON.stringify(JSON.parse(now)) : ''; } catch { /* the server says why */ }
            let same = false;
            try { same = now === (before ? JSON.stringify(JSON.parse(before)) : ''); } catch { same = now === before; }
            if (same) continue;
          } else if (now === before) continue;
          changed[el.name] = now;
        }
        fill(err);
        if (!Object.keys(changed).length) { notice('Nothing changed'); return; }
        try {
          await api.sqs('SetQueueAttributes', { QueueUrl: url, Attributes: changed });
          await refreshCounts();
          attributesForm();
          notice(`Saved ${Object.keys(changed).join(', ')}`);
          await wiring();
        } catch (x) { fill(err, errorBox(x)); }
      },
    },
    h('div', { class: 'grid' }, fields),
    err,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save attributes')),
    h('h3', {}, 'Read only'),
    kv(READ_ONLY.filter((k) => k in attrs).map((k) => [k, /Timestamp$/.test(k) ? `${attrs[k]} (${time(attrs[k] * 1000)})` : attrs[k]])),
    h('p', { class: 'muted small' }, `Retention ${seconds(attrs.MessageRetentionPeriod)}, visibility timeout ${seconds(attrs.VisibilityTimeout)}.`));
    fill(attrsBox, form);
  }

  // The add form is made once; the list above it is redrawn after each change.
  const tagsList = h('div');
  function tagForm() {
    const err = h('div');
    const form = h('form', {
      class: 'row', 'aria-label': 'Add a tag',
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        try {
          await api.sqs('TagQueue', { QueueUrl: url, Tags: { [String(data.get('key'))]: String(data.get('value')) } });
          notice('Tag added');
          form.reset();
          fill(err);
          await tags();
          document.getElementById('tag-key')?.focus();
        } catch (x) { fill(err, errorBox(x)); }
      },
    },
    h('label', { for: 'tag-key' }, 'Key'), h('input', { id: 'tag-key', name: 'key', required: true, spellcheck: 'false' }),
    h('label', { for: 'tag-value' }, 'Value'), h('input', { id: 'tag-value', name: 'value', spellcheck: 'false' }),
    h('button', { type: 'submit' }, 'Add tag'));
    fill(tagsBox, tagsList, form, err);
  }

  async function tags() {
    let listed = {};
    try {
      listed = (await api.sqs('ListQueueTags', { QueueUrl: url })).Tags || {};
    } catch (x) { fill(tagsList, errorBox(x)); return; }
    const entries = Object.entries(listed);
    fill(tagsList,
      entries.length
        ? h('table', { class: 'tags' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h('tbody', {}, entries.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, v), h('td', {},
            h('button', {
              class: 'secondary small', 'aria-label': `Remove tag ${k}`,
              onclick: async () => {
                try { await api.sqs('UntagQueue', { QueueUrl: url, TagKeys: [k] }); notice(`Tag ${k} removed`); await tags(); } catch (x) { notice(x.message, 'error'); }
              },
            }, 'Remove'))))))
        : h('p', { class: 'muted' }, 'No tags.'));
  }

  let sources = [];
  async function wiring() {
    const parts = [];
    let policy = null;
    try { policy = attrs.RedrivePolicy ? JSON.parse(attrs.RedrivePolicy) : null; } catch { policy = null; }
    if (policy) {
      const dlq = api.arnParts(policy.deadLetterTargetArn).name;
      parts.push(h('p', { class: 'wiring-dlq' }, 'Its dead-letter queue: ', h('a', { href: `#/queue/${encodeURIComponent(dlq)}` }, dlq),
        ` (after ${policy.maxReceiveCount} receives)`));
    } else {
      parts.push(h('p', { class: 'muted' }, 'No dead-letter queue (set a RedrivePolicy below).'));
    }
    try {
      const r = await api.sqs('ListDeadLetterSourceQueues', { QueueUrl: url });
      sources = (r.queueUrls || r.QueueUrls || []).map((u) => api.queueUrlParts(u).name);
    } catch (x) { parts.push(errorBox(x)); sources = []; }
    fill(document.getElementById('dlq-badge'), sources.length ? [' ', badge('DLQ', 'dlq')] : null);
    if (sources.length) {
      parts.push(h('p', { class: 'wiring-sources' }, 'Dead-letter queue of: ',
        sources.map((s, i) => [i ? ', ' : '', h('a', { href: `#/queue/${encodeURIComponent(s)}` }, s)])));
      parts.push(redriveForm());
    } else {
      parts.push(h('p', { class: 'muted' }, 'No queue uses it as its dead-letter queue.'));
    }
    fill(wiringBox, parts);
    await loadTasks();
  }

  function redriveForm() {
    const err = h('div');
    const form = h('form', {
      class: 'row', 'aria-label': 'Start a redrive',
      onsubmit: async (e) => {
        e.preventDefault();
        const data = new FormData(form);
        const rateLimit = String(data.get('rate') || '').trim();
        const destination = String(data.get('destination') || '');
        const params = { SourceArn: attrs.QueueArn };
        if (destination) params.DestinationArn = destination;
        if (rateLimit) params.MaxNumberOfMessagesPerSecond = Number(rateLimit);
        fill(err);
        try {
          await api.sqs('StartMessageMoveTask', params);
          notice('Redrive started');
          await loadTasks();
        } catch (x) { fill(err, errorBox(x)); }
      },
    },
    h('label', { for: 'redrive-destination' }, 'To'),
    h('select', { id: 'redrive-destination', name: 'destination' },
      h('option', { value: '' }, 'each message\u2019s source queue'),
      sources.map((s) => h('option', { value: attrs.QueueArn.replace(/[^:]*$/, s) }, s))),
    h('label', { for: 'redrive-rate' }, 'Messages per second (optional)'),
    h('input', { id: 'redrive-rate', name: 'rate', type: 'number', min: 1, max: 500, inputmode: 'numeric' }),
    h('button', { type: 'submit' }, 'Start redrive'));
    return h('div', {}, form, err);
  }

  let tasksRunning = false;
  async function loadTasks() {
    if (!sources.length || !attrs.QueueArn) { fill(tasksBox); tasksRunning = false; return; }
    try {
      const r = await api.sqs('ListMessageMoveTasks', { SourceArn: attrs.QueueArn, MaxResults: 10 });
      const results = r.Results || [];
      tasksRunning = results.some((t) => t.Status === 'RUNNING');
      fill(tasksBox, results.length
        ? h('table', { class: 'tasks' },
          h('caption', {}, 'Redrives of this queue (newest first)'),
          h('thead', {}, h('tr', {}, ['Status', 'Moved', 'To move', 'Started', 'Destination', ''].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, results.map((t) => h('tr', { dataset: { status: t.Status } },
            h('td', {}, badge(t.Status, t.Status === 'RUNNING' ? 'warn' : t.Status === 'COMPLETED' ? 'ok' : 'info'),
              t.FailureReason ? h('div', { class: 'error small' }, t.FailureReason) : null),
            h('td', { class: 'num', dataset: { col: 'moved' } }, t.ApproximateNumberOfMessagesMoved ?? 0),
            h('td', { class: 'num' }, t.ApproximateNumberOfMessagesToMove ?? '—'),
            h('td', {}, time(t.StartedTimestamp)),
            h('td', {}, t.DestinationArn ? api.arnParts(t.DestinationArn).name : 'the source queues'),
            h('td', {}, t.Status === 'RUNNING' && t.TaskHandle ? h('button', {
              class: 'secondary small',
              onclick: async () => {
                try { await api.sqs('CancelMessageMoveTask', { TaskHandle: t.TaskHandle }); notice('Redrive cancelled'); await loadTasks(); } catch (x) { notice(x.message, 'error'); }
              },
            }, 'Cancel redrive') : null)))))
        : h('p', { class: 'muted' }, 'No redrive yet.'));
    } catch (x) { fill(tasksBox, errorBox(x)); }
  }

  async function poll() {
    clearTimeout(timer);
    try {
      await refreshCounts();
      if (tasksRunning) await loadTasks();
      fill(headStatus);
    } catch (x) { fill(headStatus, errorBox(x)); }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  (async () => {
    try {
      url = (await api.sqs('GetQueueUrl', { QueueName: name })).QueueUrl;
      account = api.queueUrlParts(url).account;
      await refreshCounts();
    } catch (x) {
      fill(headStatus, errorBox(x));
      return;
    }
    sendForm();
    attributesForm();
    tagForm();
    await Promise.all([loadMessages(), tags(), wiring()]);
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  })();

  return () => { stopped = true; clearTimeout(timer); };
}
