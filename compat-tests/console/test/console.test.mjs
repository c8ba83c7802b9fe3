// The web console in a real browser (Debian's chromium, playwright-core) against the server
// run.sh started in the default auth mode (auto, no credentials), and its strict twin for the
// sign-in. What the console shows or does is checked from the other side with the SDK.
import { describe, it, before, after } from 'node:test';
import path from 'node:path';
import {
  SendMessageCommand, ReceiveMessageCommand, GetQueueAttributesCommand, CreateQueueCommand,
  DeleteQueueCommand, ListQueueTagsCommand, TagQueueCommand, ListMessageMoveTasksCommand,
} from '@aws-sdk/client-sqs';
import {
  assert, ENDPOINT, STRICT_ENDPOINT, SCREENSHOTS, DESKTOP, PHONE, sqs, makeClient, Queues, nameOf,
  uniqueName, launch, openPage, eventually, sleep,
} from './helpers.mjs';

const CONSOLE = `${ENDPOINT}/_cauda/console`;
let browser;
const queues = new Queues();

before(async () => { browser = await launch(); });
after(async () => {
  await queues.cleanup();
  await browser?.close();
});

async function counts(QueueUrl) {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  return [Attributes.ApproximateNumberOfMessages, Attributes.ApproximateNumberOfMessagesNotVisible,
    Attributes.ApproximateNumberOfMessagesDelayed].map(Number);
}

async function send(QueueUrl, MessageBody, extra = {}, client = sqs) {
  return (await client.send(new SendMessageCommand({ QueueUrl, MessageBody, ...extra }))).MessageId;
}

async function receiveAll(QueueUrl, extra = {}, client = sqs) {
  const { Messages = [] } = await client.send(new ReceiveMessageCommand({
    QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, ...extra,
  }));
  return Messages;
}

/** Opens a queue's page and waits for its message browser. */
async function openQueue(page, name, consoleUrl = CONSOLE) {
  await page.goto(`${consoleUrl}#/queue/${encodeURIComponent(name)}`);
  await page.getByRole('heading', { level: 1, name: new RegExp(name) }).waitFor();
  await page.locator('.messages > *').first().waitFor();
}

/** Nothing sticks out of the viewport sideways (a table may scroll inside its own box). */
async function assertFitsWidth(page) {
  const sticking = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5
      && !e.closest('.table-wrap') && getComputedStyle(e).position !== 'fixed')
    .map((e) => `${e.tagName.toLowerCase()}.${e.className}`));
  assert.deepEqual(sticking, [], 'elements wider than the window');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
}

/** Clicks `button` and confirms the dialog it opens with `confirm`. */
async function clickAndConfirm(page, button, confirm) {
  await button.click();
  await page.locator('dialog[open]').getByRole('button', { name: confirm }).click();
}

describe('web console (default auth mode)', () => {
  it('loads, linked from the operator page', async () => {
    const home = await (await fetch(`${ENDPOINT}/`)).text();
    assert.match(home, /href=\/_cauda\/console/);
    const page = await openPage(browser);
    const response = await page.goto(CONSOLE);
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { level: 1, name: 'Queues' }).waitFor();
    await page.getByRole('button', { name: 'Create queue' }).waitFor();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('shows a queue created through the SDK with its counts and live rates', async () => {
    const url = await queues.create('console-counts');
    const name = nameOf(url);
    await send(url, 'taken');
    await send(url, 'waiting');
    await send(url, 'later', { DelaySeconds: 120 });
    assert.equal((await receiveAll(url, { VisibilityTimeout: 120, MaxNumberOfMessages: 1 })).length, 1);

    const page = await openPage(browser);
    await page.goto(CONSOLE);
    await page.getByLabel('Filter queues by name').fill(name);
    const row = page.locator(`tr[data-queue="${name}"]`);
    await eventually(async () => {
      const cells = await Promise.all(['visible', 'inflight', 'delayed']
        .map((c) => row.locator(`td[data-col="${c}"]`).innerText()));
      assert.deepEqual(cells, ['1', '1', '1']);
    });
    assert.equal(await page.locator('tbody tr').count(), 1, 'the filter shows only the matching queue');

    // Sends between two polls make the queue's send rate non-zero.
    await eventually(async () => {
      await send(url, 'rate');
      const sent = Number(await row.locator('td[data-col="sent-rate"]').innerText());
      assert.ok(sent > 0, `sent/s ${sent}`);
    }, 30_000);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('creates and deletes a queue with the keyboard alone', async () => {
    const page = await openPage(browser);
    await page.goto(CONSOLE);
    const name = uniqueName('console-made');
    await page.getByLabel('New queue').focus();
    await page.keyboard.type(name);
    await page.keyboard.press('Enter');
    const row = page.locator(`tr[data-queue="${name}"]`);
    await row.waitFor();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    // Tab from the queue's link reaches its Delete button, with a visible focus ring.
    await row.getByRole('link', { name, exact: true }).focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => [document.activeElement.getAttribute('aria-label'),
      getComputedStyle(document.activeElement).outlineStyle]);
    assert.deepEqual(focused, [`Delete queue ${name}`, 'solid']);
    await page.keyboard.press('Enter');
    // The confirmation starts on Cancel; Tab moves to the destructive choice.
    await page.locator('dialog[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await row.waitFor({ state: 'detached' });
    await assert.rejects(sqs.send(new GetQueueAttributesCommand({ QueueUrl })), /does not exist/);
    await page.context().close();
  });

  it('peeks a message without receiving it', async () => {
    const url = await queues.create('console-peek');
    const name = nameOf(url);
    const id = await send(url, '{"order":42,"items":["a","b"]}', {
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'order' } },
    });
    const page = await openPage(browser);
    await openQueue(page, name);
    const message = page.locator(`article[data-message-id="${id}"]`);
    await message.waitFor();
    const body = await message.locator('pre.body').innerText();
    assert.equal(body, JSON.stringify({ order: 42, items: ['a', 'b'] }, null, 2), 'the JSON body is pretty-printed');
    assert.equal(await message.locator('[data-receive-count]').getAttribute('data-receive-count'), '0');
    await message.locator('summary').click();
    assert.match(await message.innerText(), /kind\s+String: order/);
    assert.match(await message.innerText(), /SentTimestamp/);
    assert.deepEqual(page.errors, []);
    await page.context().close();

    // Still visible, never received: the first receive counts 1.
    assert.deepEqual(await counts(url), [1, 0, 0]);
    const [m] = await receiveAll(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    assert.equal(m.MessageId, id);
    assert.equal(m.Attributes.ApproximateReceiveCount, '1');
  });

  it('sends a message that the SDK receives', async () => {
    const url = await queues.create('console-send');
    const page = await openPage(browser);
    await openQueue(page, nameOf(url));
    const body = 'from the console: {"x": 1} ünïcödé';
    const form = page.getByRole('form', { name: 'Send a message' });
    await form.getByLabel('Body').fill(body);
    await form.getByRole('button', { name: 'Add message attribute' }).click();
    await form.getByLabel('Name').fill('source');
    await form.getByLabel('Value').fill('browser');
    await form.getByRole('button', { name: 'Send message' }).click();
    await page.locator('article.msg').waitFor();
    await page.context().close();
    const [m] = await receiveAll(url, { MessageAttributeNames: ['All'] });
    assert.equal(m?.Body, body);
    assert.deepEqual(m.MessageAttributes.source, { DataType: 'String', StringValue: 'browser' });
  });

  it('sends to a FIFO queue with a group and a deduplication id', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({
      QueueName: `${uniqueName('console-fifo')}.fifo`, Attributes: { FifoQueue: 'true' },
    }));
    queues.urls.push(QueueUrl);
    const page = await openPage(browser);
    await openQueue(page, nameOf(QueueUrl));
    const form = page.getByRole('form', { name: 'Send a message' });
    await form.getByLabel('Body').fill('first in group');
    await form.getByLabel('MessageGroupId (required)').fill('g-1');
    await form.getByLabel('MessageDeduplicationId').fill('d-1');
    await form.getByRole('button', { name: 'Send message' }).click();
    await page.locator('article.msg').waitFor();
    await page.context().close();
    const [m] = await receiveAll(QueueUrl, { MessageSystemAttributeNames: ['All'] });
    assert.equal(m?.Body, 'first in group');
    assert.equal(m.Attributes.MessageGroupId, 'g-1');
    assert.equal(m.Attributes.MessageDeduplicationId, 'd-1');
  });

  it('pages through the messages', async () => {
    const url = await queues.create('console-pages');
    for (let i = 0; i < 12; i++) await send(url, `m${i}`);
    const page = await openPage(browser);
    await openQueue(page, nameOf(url));
    await page.getByLabel('Per page').selectOption('10');
    const bodies = () => page.locator('article.msg pre.body').allInnerTexts();
    await eventually(async () => assert.deepEqual(await bodies(), Array.from({ length: 10 }, (_, i) => `m${i}`)));
    await page.getByRole('button', { name: 'Next page →' }).click();
    await eventually(async () => assert.deepEqual(await bodies(), ['m10', 'm11']));
    assert.equal(await page.getByRole('button', { name: 'Next page →' }).isDisabled(), true);
    await page.getByRole('button', { name: '← Previous page' }).click();
    await eventually(async () => assert.equal((await bodies()).length, 10));
    await page.getByLabel('State').selectOption('inflight');
    await page.getByText('No messages in this state.').waitFor();
    await page.context().close();
  });

  it('deletes a message by its id', async () => {
    const url = await queues.create('console-delete');
    const gone = await send(url, 'delete me');
    const kept = await send(url, 'keep me');
    const page = await openPage(browser);
    await openQueue(page, nameOf(url));
    const message = page.locator(`article[data-message-id="${gone}"]`);
    await clickAndConfirm(page, message.getByRole('button', { name: `Delete message ${gone}` }), 'Delete message');
    await message.waitFor({ state: 'detached' });
    await page.locator(`article[data-message-id="${kept}"]`).waitFor();
    await page.context().close();
    assert.deepEqual(await counts(url), [1, 0, 0]);
    const got = await receiveAll(url);
    assert.deepEqual(got.map((m) => m.MessageId), [kept]);
  });

  it('purges after the confirmation only', async () => {
    const url = await queues.create('console-purge');
    for (const b of ['one', 'two', 'three']) await send(url, b);
    const page = await openPage(browser);
    await openQueue(page, nameOf(url));
    await page.getByRole('button', { name: 'Purge queue' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(await counts(url), [3, 0, 0], 'cancelled: nothing purged');
    await clickAndConfirm(page, page.getByRole('button', { name: 'Purge queue' }), 'Purge queue');
    await eventually(async () => assert.deepEqual(await counts(url), [0, 0, 0]));
    await eventually(async () => assert.equal(await page.locator('[data-count="visible"] dd').innerText(), '0'));
    await page.context().close();
    assert.deepEqual(await receiveAll(url), []);
  });

  it('starts a redrive that moves dead letters back to their source', async () => {
    const dlq = await queues.create('console-dlq');
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }));
    const src = await queues.create('console-src', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes.QueueArn, maxReceiveCount: 1 }),
    });
    await send(src, 'poison 1');
    await send(src, 'poison 2');
    // Received once each, visible again at once: the next receive moves them to the DLQ.
    assert.equal((await receiveAll(src, { VisibilityTimeout: 0 })).length, 2);
    assert.deepEqual(await receiveAll(src), []);
    await eventually(async () => assert.deepEqual(await counts(dlq), [2, 0, 0]));

    const page = await openPage(browser);
    await openQueue(page, nameOf(dlq));
    assert.match(await page.locator('.wiring-sources').innerText(), new RegExp(nameOf(src)));
    assert.equal(await page.getByLabel('To').inputValue(), '', 'back to their sources by default');
    await page.getByRole('button', { name: 'Start redrive' }).click();
    const task = page.locator('table.tasks tbody tr').first();
    await eventually(async () => {
      assert.equal(await task.getAttribute('data-status'), 'COMPLETED');
      assert.equal(await task.locator('td[data-col="moved"]').innerText(), '2');
    }, 30_000);
    // The source names its DLQ.
    await openQueue(page, nameOf(src));
    assert.match(await page.locator('.wiring-dlq').innerText(), new RegExp(nameOf(dlq)));
    await page.context().close();
    const back = await receiveAll(src);
    assert.deepEqual(back.map((m) => m.Body).sort(), ['poison 1', 'poison 2']);
    assert.deepEqual(await counts(dlq), [0, 0, 0]);
  });

  it('cancels a running redrive', async () => {
    const dlq = await queues.create('console-dlq-cancel');
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }));
    const src = await queues.create('console-src-cancel', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes.QueueArn, maxReceiveCount: 1 }),
    });
    // Sent to the DLQ directly, they have no source: the redrive names its destination.
    for (let i = 0; i < 30; i++) await send(dlq, `dead ${i}`);
    const page = await openPage(browser);
    await openQueue(page, nameOf(dlq));
    await page.getByLabel('To').selectOption({ label: nameOf(src) });
    await page.getByLabel('Messages per second (optional)').fill('1');
    await page.getByRole('button', { name: 'Start redrive' }).click();
    await page.locator('table.tasks tbody tr[data-status="RUNNING"]').waitFor();
    await page.getByRole('button', { name: 'Cancel redrive' }).click();
    const task = page.locator('table.tasks tbody tr').first();
    await eventually(async () => assert.equal(await task.getAttribute('data-status'), 'CANCELLED'));
    await page.context().close();
    const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: Attributes.QueueArn }));
    assert.equal(Results[0].Status, 'CANCELLED');
    const [left] = await counts(dlq);
    assert.ok(left > 0 && left < 30, `${left} messages left in the DLQ`);
  });

  it('edits attributes and tags', async () => {
    const url = await queues.create('console-attrs');
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { team: 'payments', stale: 'yes' } }));
    const page = await openPage(browser);
    await openQueue(page, nameOf(url));
    const attrs = page.getByRole('form', { name: 'Queue attributes' });
    await attrs.getByLabel('VisibilityTimeout').fill('45');
    await attrs.getByLabel('RedriveAllowPolicy').fill('{"redrivePermission":"denyAll"}');
    await attrs.getByRole('button', { name: 'Save attributes' }).click();
    // The notice comes once the form shows the saved values.
    await page.locator('#notice', { hasText: 'Saved VisibilityTimeout, RedriveAllowPolicy' }).waitFor();
    await eventually(async () => {
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
      assert.equal(Attributes.VisibilityTimeout, '45');
      assert.deepEqual(JSON.parse(Attributes.RedriveAllowPolicy), { redrivePermission: 'denyAll' });
    });
    // A value SQS refuses is shown, not saved.
    await attrs.getByLabel('VisibilityTimeout').fill('99999');
    await attrs.getByRole('button', { name: 'Save attributes' }).click();
    await attrs.getByRole('alert').filter({ hasText: 'InvalidAttributeValue' }).waitFor();

    await page.getByRole('button', { name: 'Remove tag stale' }).click();
    await page.getByRole('button', { name: 'Remove tag stale' }).waitFor({ state: 'detached' });
    const tagForm = page.getByRole('form', { name: 'Add a tag' });
    await tagForm.getByLabel('Key').fill('env');
    await tagForm.getByLabel('Value').fill('test');
    await tagForm.getByRole('button', { name: 'Add tag' }).click();
    await eventually(async () => {
      const { Tags } = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
      assert.deepEqual(Tags, { team: 'payments', env: 'test' });
    });
    await page.getByRole('button', { name: 'Remove tag env' }).waitFor();
    await page.context().close();
  });
});

describe('web console screenshots', () => {
  it('draws both pages at 1280x800 and at phone width, light and dark, without sideways overflow', async (t) => {
    // A region of its own: the other suites' queues (same server, same account) stay out of
    // the pictures.
    const region = 'eu-south-2';
    const local = makeClient({ region });
    const mine = new Queues(local);
    t.after(() => mine.cleanup());
    const dlq = await mine.create('orders-dlq');
    const { Attributes } = await local.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }));
    const orders = await mine.create('orders', {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes.QueueArn, maxReceiveCount: 3 }),
    });
    const { QueueUrl: fifo } = await local.send(new CreateQueueCommand({
      QueueName: `${uniqueName('payments')}.fifo`, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
    }));
    mine.urls.push(fifo);
    await send(orders, JSON.stringify({ order: 1041, customer: 'c-17', items: [{ sku: 'A-1', qty: 2 }], total: 39.9 }), {
      MessageAttributes: { source: { DataType: 'String', StringValue: 'web' } },
    }, local);
    await send(orders, JSON.stringify({ order: 1042, customer: 'c-3', items: [{ sku: 'B-7', qty: 1 }], total: 12.5 }), {}, local);
    await receiveAll(orders, { MaxNumberOfMessages: 1, VisibilityTimeout: 300 }, local);
    await send(orders, 'plain text reminder', { DelaySeconds: 300 }, local);
    await send(dlq, JSON.stringify({ order: 977, error: 'card declined' }), {}, local);
    await send(fifo, 'payment 1', { MessageGroupId: 'c-17' }, local);

    const page = await openPage(browser);
    await page.goto(CONSOLE);
    await page.getByLabel('Region').fill(region);
    await page.getByLabel('Region').press('Tab');
    await page.locator(`tr[data-queue="${nameOf(orders)}"]`).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 3, 'only the region\'s queues');
    // Traffic between polls, so that the rates and the chart have something to show.
    for (let i = 0; i < 12; i++) {
      await send(orders, JSON.stringify({ order: 2000 + i }), {}, local);
      if (i % 2) await receiveAll(orders, { MaxNumberOfMessages: 1, VisibilityTimeout: 300 }, local);
      await sleep(400);
    }
    await page.locator(`tr[data-queue="${nameOf(dlq)}"] .badge.dlq`).waitFor();
    await page.locator(`tr[data-queue="${nameOf(fifo)}"] .badge.fifo`).waitFor();
    await page.mouse.move(0, 0);
    await page.locator('h1').click();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'queues.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'queues-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize(PHONE);
    await sleep(2500); // a poll redraws the page at its new width
    await page.screenshot({ path: path.join(SCREENSHOTS, 'queues-phone.png'), fullPage: true });
    await assertFitsWidth(page);

    await page.setViewportSize(DESKTOP);
    await page.getByRole('link', { name: nameOf(orders), exact: true }).click();
    await page.locator('article.msg').first().waitFor();
    assert.match(await page.locator('.wiring-dlq').innerText(), new RegExp(nameOf(dlq)));
    await page.locator('h1').click();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'queue.png') });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'queue-phone.png'), fullPage: true });
    await assertFitsWidth(page);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});

describe('web console (strict auth)', { skip: !STRICT_ENDPOINT && 'CAUDA_STRICT_ENDPOINT not set' }, () => {
  it('refuses a wrong secret and works with the right one', async () => {
    const owner = makeClient({ endpoint: STRICT_ENDPOINT, accessKeyId: 'AKIDCOMPAT', secretAccessKey: 'compatsecret' });
    const name = uniqueName('console-strict');
    const { QueueUrl } = await owner.send(new CreateQueueCommand({ QueueName: name }));
    try {
      const page = await openPage(browser);
      await page.goto(`${STRICT_ENDPOINT}/_cauda/console`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByLabel('Access key ID').fill('AKIDCOMPAT');
      await page.getByLabel('Secret access key').fill('not the secret');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const refusal = page.getByRole('alert').filter({ hasText: 'SignatureDoesNotMatch' });
      await refusal.waitFor();
      assert.equal(await page.locator('table.queues').count(), 0);
      assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key is not kept');

      await page.getByLabel('Secret access key').fill('compatsecret');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator(`tr[data-queue="${name}"]`).waitFor();
      assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing outside the tab session');
      assert.equal(await page.evaluate(() => sessionStorage.length), 1);
      // The queue page signs SQS and admin requests alike.
      await owner.send(new SendMessageCommand({ QueueUrl, MessageBody: 'strict peek' }));
      await page.getByRole('link', { name }).click();
      await page.locator('article.msg pre.body', { hasText: 'strict peek' }).waitFor();
      // Reloaded, the tab keeps its session: no second sign-in.
      await page.reload();
      await page.getByRole('heading', { level: 1, name }).waitFor();
      await page.locator('article.msg pre.body', { hasText: 'strict peek' }).waitFor();
      assert.deepEqual(page.errors, []);
      await page.context().close();
    } finally {
      await owner.send(new DeleteQueueCommand({ QueueUrl }));
    }
  });
});
