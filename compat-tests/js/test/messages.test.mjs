// Messaging with @aws-sdk/client-sqs v3 (AWS JSON 1.0), MD5 checking enabled.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SendMessageCommand, ReceiveMessageCommand, DeleteMessageCommand, SendMessageBatchCommand,
  DeleteMessageBatchCommand, ChangeMessageVisibilityCommand, ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand, PurgeQueueCommand,
} from '@aws-sdk/client-sqs';
import { sqs, makeClient, Queues, md5, md5OfAttributes, rejectsWith, sleep } from './helpers.mjs';

const queues = new Queues();
after(() => queues.cleanup());

const counts = async (QueueUrl) => {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes;
  return [Number(a.ApproximateNumberOfMessages), Number(a.ApproximateNumberOfMessagesNotVisible), Number(a.ApproximateNumberOfMessagesDelayed)];
};
const receive = async (QueueUrl, extra = {}) => (await sqs.send(new ReceiveMessageCommand({ QueueUrl, ...extra }))).Messages || [];

describe('messages', () => {
  it('md5 checking is enabled in this client', () => {
    assert.notEqual(sqs.config.md5, false);
  });

  it('send / receive / delete with exact MD5s', async () => {
    const url = await queues.create('js-msg');
    const body = 'hello ✓ 日本 🎉';
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    assert.equal(sent.MD5OfMessageBody, md5(body));
    assert.match(sent.MessageId, /^[0-9a-f-]{36}$/i);
    const [m] = await receive(url);
    assert.equal(m.Body, body);
    assert.equal(m.MD5OfBody, md5(body));
    assert.equal(m.MessageId, sent.MessageId);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    assert.deepEqual(await counts(url), [0, 0, 0]);
  });

  it('message attributes round-trip with the documented MD5 vectors', async () => {
    const url = await queues.create('js-attrs');
    const vectors = [
      [{ MyAttribute: { DataType: 'String', StringValue: 'foobar' } }, 'adb59cd4678ea5a855436b949cd07ab6'],
      [{ timestamp: { DataType: 'Number', StringValue: '1493147359900' } }, '235c5c510d26fb653d073faed50ae77c'],
      [{ attr1: { DataType: 'Binary', BinaryValue: Buffer.from('traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01', 'latin1') } }, '8cbe4db156db8a94db8b801b7addb984'],
      [{ a: { DataType: 'String', StringValue: 'hello' }, b: { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 1, 2]) }, n: { DataType: 'Number.int', StringValue: '42' } }, '8ede164999645b25afbafe8fd5817b1c'],
    ];
    for (const [attrs, expected] of vectors) {
      assert.equal(md5OfAttributes(attrs), expected);
      const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a', MessageAttributes: attrs }));
      assert.equal(sent.MD5OfMessageAttributes, expected);
      const [m] = await receive(url, { MessageAttributeNames: ['All'] });
      assert.equal(m.MD5OfMessageAttributes, expected);
      assert.deepEqual(Object.keys(m.MessageAttributes).sort(), Object.keys(attrs).sort());
      for (const [k, v] of Object.entries(attrs)) {
        assert.equal(m.MessageAttributes[k].DataType, v.DataType);
        if (v.StringValue !== undefined) assert.equal(m.MessageAttributes[k].StringValue, v.StringValue);
        else assert.deepEqual(Buffer.from(m.MessageAttributes[k].BinaryValue), Buffer.from(v.BinaryValue));
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  });

  it('MessageAttributeNames prefix filtering and system attributes', async () => {
    const url = await queues.create('js-filter');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'f', MessageAttributes: {
      Hello: { DataType: 'String', StringValue: 'There' },
      General: { DataType: 'String', StringValue: 'Kenobi' },
      'Help.Me': { DataType: 'String', StringValue: 'Me' } } }));
    const [m] = await receive(url, { MessageAttributeNames: ['Hel.*'], MessageSystemAttributeNames: ['All'], VisibilityTimeout: 0 });
    assert.deepEqual(Object.keys(m.MessageAttributes).sort(), ['Hello', 'Help.Me']);
    assert.equal(m.MD5OfMessageAttributes, '83fee93c1bcd8b9a5a923ffacdc636c7');
    for (const k of ['SenderId', 'SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp']) {
      assert.ok(k in m.Attributes, k);
    }
    assert.equal(m.Attributes.ApproximateReceiveCount, '1');
    assert.ok(Math.abs(Number(m.Attributes.SentTimestamp) - Date.now()) < 120000, 'SentTimestamp is epoch ms');
    const [m2] = await receive(url);
    assert.equal(m2.MessageAttributes, undefined);
    assert.equal(m2.MD5OfMessageAttributes, undefined);
    assert.equal(m2.Attributes, undefined);
    assert.notEqual(m2.ReceiptHandle, m.ReceiptHandle);
  });

  it('batch send with per-entry failures, batch delete and batch visibility', async () => {
    const url = await queues.create('js-batch');
    const res = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [
      { Id: 'a', MessageBody: 'batch-a' }, { Id: 'b', MessageBody: 'batch-b' }, { Id: 'bad', MessageBody: 'bad\u0000' }] }));
    assert.deepEqual(res.Successful.map((e) => e.Id).sort(), ['a', 'b']);
    for (const e of res.Successful) assert.equal(e.MD5OfMessageBody, md5(`batch-${e.Id}`));
    assert.equal(res.Failed.length, 1);
    assert.equal(res.Failed[0].Id, 'bad');
    assert.equal(res.Failed[0].Code, 'InvalidMessageContents');
    assert.equal(res.Failed[0].SenderFault, true);

    let got = [];
    for (let i = 0; i < 5 && got.length < 2; i++) got.push(...await receive(url, { MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
    assert.equal(got.length, 2);
    const cv = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: [
      { Id: 'x', ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0 },
      { Id: 'y', ReceiptHandle: 'garbage', VisibilityTimeout: 0 }] }));
    assert.deepEqual(cv.Successful.map((e) => e.Id), ['x']);
    assert.equal(cv.Failed[0].Code, 'ReceiptHandleIsInvalid');
    const del = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [
      { Id: 'd', ReceiptHandle: got[1].ReceiptHandle }, { Id: 'e', ReceiptHandle: 'garbage' }] }));
    assert.deepEqual(del.Successful.map((e) => e.Id), ['d']);
    assert.deepEqual(del.Failed.map((e) => [e.Id, e.Code, e.SenderFault]), [['e', 'ReceiptHandleIsInvalid', true]]);
    const [again] = await receive(url);
    assert.equal(again.Body, got[0].Body);
  });

  it('whole-request batch errors', async () => {
    const url = await queues.create('js-batcherr');
    const cases = [
      [[], 'AWS.SimpleQueueService.EmptyBatchRequest', 'EmptyBatchRequest'],
      [Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' })), 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'TooManyEntriesInBatchRequest'],
      [[{ Id: 'same', MessageBody: 'x' }, { Id: 'same', MessageBody: 'y' }], 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 'BatchEntryIdsNotDistinct'],
      [[{ Id: 'bad:id', MessageBody: 'x' }], 'AWS.SimpleQueueService.InvalidBatchEntryId', 'InvalidBatchEntryId'],
    ];
    for (const [Entries, code, name] of cases) {
      await rejectsWith(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries })), { code, name, status: 400 });
    }
  });

  it('parameter validation errors', async () => {
    const url = await queues.create('js-params');
    await rejectsWith(sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })), { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1048577) })), { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bad\u0008' })), { code: 'InvalidMessageContents', status: 400 });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '' })), { code: 'MissingParameter', status: 400 });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 })), { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' })), { code: 'ReceiptHandleIsInvalid', name: 'ReceiptHandleIsInvalid' });
  });

  it('visibility timeout 0 and ChangeMessageVisibility', async () => {
    const url = await queues.create('js-vis');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'v' }));
    const [m] = await receive(url, { VisibilityTimeout: 0 });
    const [m2] = await receive(url, { VisibilityTimeout: 60 });
    assert.equal(m2.MessageId, m.MessageId);
    assert.deepEqual(await receive(url), []);
    assert.deepEqual(await counts(url), [0, 1, 0]);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: m2.ReceiptHandle, VisibilityTimeout: 0 }));
    assert.equal((await receive(url)).length, 1);
  });

  it('DelaySeconds delays delivery and counts as delayed', async () => {
    const url = await queues.create('js-delay');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 2 }));
    const t0 = Date.now();
    assert.deepEqual(await counts(url), [0, 0, 1]);
    assert.deepEqual(await receive(url), []);
    const msgs = await receive(url, { WaitTimeSeconds: 6 });
    const elapsed = (Date.now() - t0) / 1000;
    assert.equal(msgs[0]?.Body, 'later');
    assert.ok(elapsed >= 1.0 && elapsed <= 5.5, `elapsed ${elapsed}`);
  });

  it('long polling waits on an empty queue and wakes on send', async () => {
    const url = await queues.create('js-poll');
    let t0 = Date.now();
    assert.deepEqual(await receive(url, { WaitTimeSeconds: 2 }), []);
    let elapsed = (Date.now() - t0) / 1000;
    assert.ok(elapsed >= 1.7 && elapsed <= 5, `empty wait ${elapsed}`);
    const other = makeClient();
    t0 = Date.now();
    const pending = receive(url, { WaitTimeSeconds: 15 });
    await sleep(1000);
    await other.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake' }));
    const msgs = await pending;
    elapsed = (Date.now() - t0) / 1000;
    assert.deepEqual(msgs.map((m) => m.Body), ['wake']);
    assert.ok(elapsed <= 6, `woke after ${elapsed}`);
  });

  it('PurgeQueue empties the queue; a second purge within 60 s is refused', async () => {
    const url = await queues.create('js-purge');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'p' }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    let c;
    for (let i = 0; i < 25; i++) { c = await counts(url); if (c.every((x) => x === 0)) break; await sleep(200); }
    assert.deepEqual(c, [0, 0, 0]);
    await rejectsWith(sqs.send(new PurgeQueueCommand({ QueueUrl: url })),
      { name: 'PurgeQueueInProgress', code: 'AWS.SimpleQueueService.PurgeQueueInProgress', status: 403 });
  });
});
