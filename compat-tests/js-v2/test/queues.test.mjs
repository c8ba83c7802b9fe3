// Queue management with aws-sdk v2 (Query protocol) against cauda.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { sqs, Queues, ENDPOINT, ACCOUNT, uniqueName, queueArn, rejectsWith } from './helpers.mjs';

const queues = new Queues();
after(() => queues.cleanup());

describe('queues (aws-sdk v2)', () => {
  it('create with attributes and tags, get url, list by prefix, attributes, tags, delete', async () => {
    const name = uniqueName('jsv2-life');
    const url = await queues.create('', { name, attributes: { VisibilityTimeout: '45', DelaySeconds: '0', MaximumMessageSize: '2048' }, tags: { team: 'core', env: 'dev' } });
    assert.equal(url, `${ENDPOINT}/${ACCOUNT}/${name}`);
    assert.equal((await sqs.getQueueUrl({ QueueName: name }).promise()).QueueUrl, url);

    const other = await queues.create('', { name: `${name}-b` });
    let list = await sqs.listQueues({ QueueNamePrefix: name }).promise();
    assert.deepEqual([...list.QueueUrls].sort(), [url, other]);
    list = await sqs.listQueues({ QueueNamePrefix: `${name}-b` }).promise();
    assert.deepEqual(list.QueueUrls, [other]);

    const { Attributes: a } = await sqs.getQueueAttributes({ QueueUrl: url, AttributeNames: ['All'] }).promise();
    assert.equal(a.VisibilityTimeout, '45');
    assert.equal(a.DelaySeconds, '0');
    assert.equal(a.MaximumMessageSize, '2048');
    assert.equal(a.MessageRetentionPeriod, '345600');
    assert.equal(a.QueueArn, queueArn(name));
    assert.equal(a.ApproximateNumberOfMessages, '0');
    assert.equal(a.FifoQueue, undefined);
    assert.match(a.CreatedTimestamp, /^\d{10}$/);

    await sqs.setQueueAttributes({ QueueUrl: url, Attributes: { VisibilityTimeout: '60', DelaySeconds: '2' } }).promise();
    const after1 = await sqs.getQueueAttributes({ QueueUrl: url, AttributeNames: ['VisibilityTimeout', 'DelaySeconds'] }).promise();
    assert.deepEqual(after1.Attributes, { VisibilityTimeout: '60', DelaySeconds: '2' });
    await rejectsWith(sqs.setQueueAttributes({ QueueUrl: url, Attributes: { VisibilityTimeout: '99999' } }), { code: 'InvalidAttributeValue', status: 400 });

    assert.deepEqual((await sqs.listQueueTags({ QueueUrl: url }).promise()).Tags, { team: 'core', env: 'dev' });
    await sqs.tagQueue({ QueueUrl: url, Tags: { owner: 'jsv2', env: 'prod' } }).promise();
    await sqs.untagQueue({ QueueUrl: url, TagKeys: ['team'] }).promise();
    assert.deepEqual((await sqs.listQueueTags({ QueueUrl: url }).promise()).Tags, { owner: 'jsv2', env: 'prod' });

    await sqs.deleteQueue({ QueueUrl: url }).promise();
    list = await sqs.listQueues({ QueueNamePrefix: name }).promise();
    assert.deepEqual(list.QueueUrls, [other]);
    await rejectsWith(sqs.getQueueUrl({ QueueName: name }), { code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 });
  });

  it('a missing queue is AWS.SimpleQueueService.NonExistentQueue in err.code', async () => {
    const err = await rejectsWith(sqs.getQueueUrl({ QueueName: uniqueName('jsv2-missing') }),
      { code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 });
    assert.match(err.message, /does not exist/);
    assert.ok(err.requestId, 'RequestId parsed from the error body');
    // Through an operation that goes to the queue URL's own path.
    await rejectsWith(sqs.sendMessage({ QueueUrl: `${ENDPOINT}/${ACCOUNT}/${uniqueName('jsv2-missing')}`, MessageBody: 'x' }),
      { code: 'AWS.SimpleQueueService.NonExistentQueue', status: 400 });
  });

  it('CreateQueue with a different attribute value is QueueAlreadyExists', async () => {
    const name = uniqueName('jsv2-exists');
    const url = await queues.create('', { name, attributes: { VisibilityTimeout: '40' } });
    assert.equal((await sqs.createQueue({ QueueName: name, Attributes: { VisibilityTimeout: '40' } }).promise()).QueueUrl, url);
    await rejectsWith(sqs.createQueue({ QueueName: name, Attributes: { VisibilityTimeout: '41' } }), { code: 'QueueAlreadyExists', status: 400 });
  });
});
