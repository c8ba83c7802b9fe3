// FIFO queues, dead-letter queues and move tasks with @aws-sdk/client-sqs v3.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SendMessageCommand, ReceiveMessageCommand, DeleteMessageCommand, SendMessageBatchCommand,
  GetQueueAttributesCommand, ListDeadLetterSourceQueuesCommand, StartMessageMoveTaskCommand,
  ListMessageMoveTasksCommand, CancelMessageMoveTaskCommand, SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { sqs, Queues, md5, rejectsWith, sleep, queueArn, nameOf, uniqueName } from './helpers.mjs';

const queues = new Queues();
after(() => queues.cleanup());
const receive = async (QueueUrl, extra = {}) => (await sqs.send(new ReceiveMessageCommand({ QueueUrl, ...extra }))).Messages || [];
const arnOf = async (QueueUrl) => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes.QueueArn;

describe('fifo', () => {
  it('requires MessageGroupId and a dedup id (or content-based dedup)', async () => {
    const url = await queues.create('js-f', { fifo: true });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })),
      { code: 'MissingParameter', status: 400 });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' })),
      { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd', DelaySeconds: 3 })),
      { code: 'InvalidParameterValue', status: 400 });
  });

  it('orders within a group, locks the group in flight, dedups, increases SequenceNumber', async () => {
    const url = await queues.create('js-ford', { fifo: true, attributes: { ContentBasedDeduplication: 'true' } });
    const seqs = [];
    for (const b of ['m0', 'm1', 'm2']) {
      const r = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: b, MessageGroupId: 'g' }));
      assert.equal(r.MD5OfMessageBody, md5(b));
      seqs.push(BigInt(r.SequenceNumber));
    }
    assert.ok(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
    const dup = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm0', MessageGroupId: 'g' }));
    assert.ok(dup.MessageId);
    const [first] = await receive(url, { MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['All'] });
    assert.equal(first.Body, 'm0');
    assert.equal(first.Attributes.MessageGroupId, 'g');
    assert.equal(BigInt(first.Attributes.SequenceNumber), seqs[0]);
    assert.deepEqual(await receive(url, { MaxNumberOfMessages: 10 }), [], 'group is locked while m0 is in flight');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
    const rest = await receive(url, { MaxNumberOfMessages: 10 });
    assert.deepEqual(rest.map((m) => m.Body).slice(0, 1), ['m1']);
    const bodies = rest.map((m) => m.Body);
    for (const m of rest) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    if (bodies.length < 2) {
      const more = await receive(url, { MaxNumberOfMessages: 10 });
      bodies.push(...more.map((m) => m.Body));
    }
    assert.deepEqual(bodies, ['m1', 'm2'], 'the duplicate m0 is never delivered');
  });

  it('ReceiveRequestAttemptId retry returns the same messages and handles', async () => {
    const url = await queues.create('js-fatt', { fifo: true, attributes: { ContentBasedDeduplication: 'true' } });
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [
      { Id: 'a', MessageBody: 'a', MessageGroupId: 'g' }, { Id: 'b', MessageBody: 'b', MessageGroupId: 'g' }] }));
    const one = await receive(url, { MaxNumberOfMessages: 10, ReceiveRequestAttemptId: 'att-1' });
    const two = await receive(url, { MaxNumberOfMessages: 10, ReceiveRequestAttemptId: 'att-1' });
    assert.deepEqual(one.map((m) => m.Body), ['a', 'b']);
    assert.deepEqual(two.map((m) => [m.MessageId, m.ReceiptHandle]), one.map((m) => [m.MessageId, m.ReceiptHandle]));
  });
});

describe('dead-letter queues', () => {
  it('moves a message after maxReceiveCount and moves it back with a move task', async () => {
    const dlq = await queues.create('js-dlq');
    const dlqArn = await arnOf(dlq);
    assert.equal(dlqArn, queueArn(nameOf(dlq)));
    const src = await queues.create('js-src', { attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) } });
    const sources = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }));
    assert.deepEqual(sources.queueUrls, [src]);

    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: src, MessageBody: 'poison' }));
    assert.equal((await receive(src, { VisibilityTimeout: 0 })).length, 1);
    assert.deepEqual(await receive(src), []);
    const [d] = await receive(dlq, { MessageSystemAttributeNames: ['All'], VisibilityTimeout: 0 });
    assert.equal(d.MessageId, sent.MessageId);
    assert.equal(d.Body, 'poison');
    assert.equal(d.Attributes.DeadLetterQueueSourceArn, await arnOf(src));

    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
    assert.ok(TaskHandle);
    let results = [];
    for (let i = 0; i < 60; i++) {
      ({ Results: results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn })));
      if (results.length && results[0].Status !== 'RUNNING') break;
      await sleep(300);
    }
    assert.equal(results[0]?.Status, 'COMPLETED', JSON.stringify(results));
    assert.equal(results[0].ApproximateNumberOfMessagesMoved, 1);
    const back = await receive(src, { WaitTimeSeconds: 2 });
    assert.deepEqual(back.map((m) => m.Body), ['poison']);
  });

  it('rejects invalid redrive policies and move tasks', async () => {
    const src = await queues.create('js-bad');
    await rejectsWith(sqs.send(new SetQueueAttributesCommand({ QueueUrl: src, Attributes: {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queueArn(uniqueName('js-none')), maxReceiveCount: 1 }) } })),
    { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: await arnOf(src) })),
      { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queueArn(uniqueName('js-none')) })),
      { name: 'ResourceNotFoundException', code: 'ResourceNotFoundException', status: 404 });
    await rejectsWith(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'garbage' })),
      { code: 'InvalidParameterValue', status: 400 });
  });
});
