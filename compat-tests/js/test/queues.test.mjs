// Queue management with @aws-sdk/client-sqs v3 (AWS JSON 1.0).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateQueueCommand, GetQueueUrlCommand, ListQueuesCommand, DeleteQueueCommand,
  GetQueueAttributesCommand, SetQueueAttributesCommand, TagQueueCommand, UntagQueueCommand,
  ListQueueTagsCommand, AddPermissionCommand, RemovePermissionCommand, SendMessageCommand,
  QueueDoesNotExist, QueueNameExists,
} from '@aws-sdk/client-sqs';
import { sqs, Queues, uniqueName, nameOf, queueArn, rejectsWith, ENDPOINT, ACCOUNT } from './helpers.mjs';

const queues = new Queues();
after(() => queues.cleanup());

const allAttrs = async (QueueUrl) =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes;

describe('queues', () => {
  it('creates a queue whose URL is endpoint/account/name', async () => {
    const name = uniqueName('js-shape');
    const url = await queues.create('', { name });
    assert.equal(url, `${ENDPOINT}/${ACCOUNT}/${name}`);
    const got = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    assert.equal(got.QueueUrl, url);
    assert.equal(got.$metadata.httpStatusCode, 200);
    assert.ok(got.$metadata.requestId, 'x-amzn-RequestId header');
  });

  it('CreateQueue is idempotent for matching attributes and fails for different ones', async () => {
    const name = uniqueName('js-idem');
    const url = await queues.create('', { name, attributes: { VisibilityTimeout: '45' } });
    const again = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '45' } }));
    assert.equal(again.QueueUrl, url);
    const bare = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    assert.equal(bare.QueueUrl, url);
    const err = await rejectsWith(
      sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '46' } })),
      { name: 'QueueNameExists', code: 'QueueAlreadyExists', status: 400 });
    assert.ok(err instanceof QueueNameExists);
  });

  it('GetQueueUrl of a missing queue throws QueueDoesNotExist', async () => {
    const err = await rejectsWith(sqs.send(new GetQueueUrlCommand({ QueueName: uniqueName('js-missing') })),
      { name: 'QueueDoesNotExist', code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 });
    assert.ok(err instanceof QueueDoesNotExist);
    assert.ok(err.message.length > 0);
  });

  it('operations on a deleted queue throw QueueDoesNotExist', async () => {
    const url = await queues.create('js-del');
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })),
      { name: 'QueueDoesNotExist', code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 });
    await rejectsWith(sqs.send(new GetQueueUrlCommand({ QueueName: nameOf(url) })), { name: 'QueueDoesNotExist' });
  });

  it('ListQueues filters by prefix and pages with MaxResults/NextToken', async () => {
    const prefix = uniqueName('js-list');
    const urls = [];
    for (let i = 0; i < 5; i++) urls.push(await queues.create('', { name: `${prefix}-${i}` }));
    await queues.create('js-other');
    const all = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
    assert.deepEqual([...all.QueueUrls].sort(), [...urls].sort());
    assert.equal(all.NextToken, undefined);
    const seen = [];
    let token;
    let pages = 0;
    do {
      const page = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2, NextToken: token }));
      assert.ok((page.QueueUrls || []).length <= 2);
      seen.push(...(page.QueueUrls || []));
      token = page.NextToken;
      pages += 1;
    } while (token && pages < 6);
    assert.equal(pages, 3);
    assert.deepEqual(seen.sort(), [...urls].sort());
  });

  it('new queues have the documented default attributes', async () => {
    const url = await queues.create('js-defs');
    const a = await allAttrs(url);
    assert.deepEqual(Object.keys(a).sort(), [
      'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed', 'ApproximateNumberOfMessagesNotVisible',
      'CreatedTimestamp', 'DelaySeconds', 'LastModifiedTimestamp', 'MaximumMessageSize', 'MessageRetentionPeriod',
      'QueueArn', 'ReceiveMessageWaitTimeSeconds', 'SqsManagedSseEnabled', 'VisibilityTimeout'].sort());
    assert.equal(a.VisibilityTimeout, '30');
    assert.equal(a.MaximumMessageSize, '1048576');
    assert.equal(a.MessageRetentionPeriod, '345600');
    assert.equal(a.DelaySeconds, '0');
    assert.equal(a.ReceiveMessageWaitTimeSeconds, '0');
    assert.equal(a.SqsManagedSseEnabled, 'true');
    assert.equal(a.QueueArn, queueArn(nameOf(url)));
    assert.ok(Math.abs(Number(a.CreatedTimestamp) - Date.now() / 1000) < 120, 'CreatedTimestamp is epoch seconds');

    const furl = await queues.create('js-fdefs', { fifo: true });
    const f = await allAttrs(furl);
    assert.equal(f.FifoQueue, 'true');
    assert.equal(f.ContentBasedDeduplication, 'false');
    assert.equal(f.DeduplicationScope, 'queue');
    assert.equal(f.FifoThroughputLimit, 'perQueue');
  });

  it('SetQueueAttributes round-trips and rejects bad values/names', async () => {
    const url = await queues.create('js-set');
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '90', DelaySeconds: '7' } }));
    const got = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout', 'DelaySeconds'] }));
    assert.deepEqual(got.Attributes, { VisibilityTimeout: '90', DelaySeconds: '7' });
    for (const [k, v] of [['VisibilityTimeout', '43201'], ['DelaySeconds', '901'], ['MaximumMessageSize', '1023'],
      ['MessageRetentionPeriod', '59'], ['ReceiveMessageWaitTimeSeconds', '21']]) {
      await rejectsWith(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { [k]: v } })),
        { code: 'InvalidAttributeValue', status: 400 });
    }
    await rejectsWith(sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Foobar: '1' } })),
      { code: 'InvalidAttributeName', status: 400 });
  });

  it('FIFO naming rules', async () => {
    await rejectsWith(sqs.send(new CreateQueueCommand({ QueueName: uniqueName('js-sfx', true) })),
      { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new CreateQueueCommand({ QueueName: uniqueName('js-nosfx'), Attributes: { FifoQueue: 'true' } })),
      { code: 'InvalidParameterValue', status: 400 });
    await rejectsWith(sqs.send(new CreateQueueCommand({ QueueName: uniqueName('js-std'), Attributes: { FifoQueue: 'false' } })),
      { code: 'InvalidAttributeName', status: 400 });
  });

  it('tags: create, tag, untag, list', async () => {
    const url = await queues.create('js-tags', { tags: { a: '1' } });
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { b: '2', a: 'one' } }));
    assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, { a: 'one', b: '2' });
    await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ['a', 'b'] }));
    const t = (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags;
    assert.ok(t === undefined || Object.keys(t).length === 0);
  });

  it('AddPermission/RemovePermission maintain the Policy attribute', async () => {
    const url = await queues.create('js-perm');
    await sqs.send(new AddPermissionCommand({ QueueUrl: url, Label: 'jsperm', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }));
    const policy = JSON.parse((await allAttrs(url)).Policy);
    assert.equal(policy.Statement.length, 1);
    assert.equal(policy.Statement[0].Sid, 'jsperm');
    assert.equal(policy.Statement[0].Action, 'SQS:SendMessage');
    assert.equal(policy.Statement[0].Resource, queueArn(nameOf(url)));
    await sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label: 'jsperm' }));
    assert.equal((await allAttrs(url)).Policy, undefined);
  });
});
