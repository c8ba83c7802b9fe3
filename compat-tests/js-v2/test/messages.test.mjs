// Messages with aws-sdk v2 (Query protocol), the SDK's own MD5 validation on.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { sqs, Queues, md5, md5OfAttributes, rejectsWith, receiveAll } from './helpers.mjs';

const queues = new Queues();
after(() => queues.cleanup());

describe('messages (aws-sdk v2)', () => {
  it('send / receive / delete with String, Number and Binary attributes and exact MD5s', async () => {
    const url = await queues.create('jsv2-msg');
    const body = 'hello ✓ 日本 🎉 <&>';
    const attrs = {
      a: { DataType: 'String', StringValue: 'hello' },
      b: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2]) },
      n: { DataType: 'Number.int', StringValue: '42' },
    };
    const wantAttrMd5 = '8ede164999645b25afbafe8fd5817b1c'; // SQS-REFERENCE §5.3 vector
    assert.equal(md5OfAttributes(attrs), wantAttrMd5);
    const sent = await sqs.sendMessage({ QueueUrl: url, MessageBody: body, MessageAttributes: attrs }).promise();
    assert.equal(sent.MD5OfMessageBody, md5(body));
    assert.equal(sent.MD5OfMessageAttributes, wantAttrMd5);
    assert.match(sent.MessageId, /^[0-9a-f-]{36}$/i);
    assert.equal(sent.SequenceNumber, undefined);

    const numAttrs = { timestamp: { DataType: 'Number', StringValue: '1493147359900' } };
    const sent2 = await sqs.sendMessage({ QueueUrl: url, MessageBody: 'second', MessageAttributes: numAttrs }).promise();
    assert.equal(sent2.MD5OfMessageAttributes, '235c5c510d26fb653d073faed50ae77c');

    const got = await receiveAll(sqs, url, 2, { AttributeNames: ['All'], MessageAttributeNames: ['All'] });
    assert.equal(got.length, 2);
    const m = got.find((x) => x.MessageId === sent.MessageId);
    const m2 = got.find((x) => x.MessageId === sent2.MessageId);
    assert.ok(m && m2, 'both messages received');
    assert.equal(m.Body, body);
    assert.equal(m.MD5OfBody, md5(body));
    assert.equal(m.MD5OfMessageAttributes, wantAttrMd5);
    assert.deepEqual(Object.keys(m.MessageAttributes).sort(), ['a', 'b', 'n']);
    assert.equal(m.MessageAttributes.a.DataType, 'String');
    assert.equal(m.MessageAttributes.a.StringValue, 'hello');
    assert.equal(m.MessageAttributes.b.DataType, 'Binary');
    assert.deepEqual(Buffer.from(m.MessageAttributes.b.BinaryValue), Buffer.from([0, 1, 2]));
    assert.equal(m.MessageAttributes.n.DataType, 'Number.int');
    assert.equal(m.MessageAttributes.n.StringValue, '42');
    assert.equal(md5OfAttributes(m.MessageAttributes), wantAttrMd5);
    assert.equal(m.Attributes.ApproximateReceiveCount, '1');
    assert.match(m.Attributes.SentTimestamp, /^\d{13}$/);
    assert.equal(m.Attributes.SequenceNumber, undefined);
    assert.equal(m2.Body, 'second');
    assert.equal(m2.MessageAttributes.timestamp.StringValue, '1493147359900');
    assert.equal(m2.MD5OfMessageAttributes, '235c5c510d26fb653d073faed50ae77c');

    // Make the first visible again; a filtered receive's MD5 covers only what is returned.
    await sqs.changeMessageVisibility({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }).promise();
    const again = (await sqs.receiveMessage({ QueueUrl: url, WaitTimeSeconds: 2, MessageAttributeNames: ['a'], AttributeNames: ['ApproximateReceiveCount'] }).promise()).Messages;
    assert.equal(again.length, 1);
    assert.equal(again[0].MessageId, sent.MessageId);
    assert.deepEqual(Object.keys(again[0].MessageAttributes), ['a']);
    assert.equal(again[0].MD5OfMessageAttributes, md5OfAttributes({ a: attrs.a }));
    assert.equal(again[0].Attributes.ApproximateReceiveCount, '2');
    assert.notEqual(again[0].ReceiptHandle, m.ReceiptHandle);

    await sqs.deleteMessage({ QueueUrl: url, ReceiptHandle: again[0].ReceiptHandle }).promise();
    await sqs.deleteMessage({ QueueUrl: url, ReceiptHandle: m2.ReceiptHandle }).promise();
    const empty = await sqs.receiveMessage({ QueueUrl: url, WaitTimeSeconds: 1 }).promise();
    assert.equal((empty.Messages || []).length, 0);
    const { Attributes: a } = await sqs.getQueueAttributes({ QueueUrl: url, AttributeNames: ['All'] }).promise();
    assert.equal(a.ApproximateNumberOfMessages, '0');
    assert.equal(a.ApproximateNumberOfMessagesNotVisible, '0');
    await rejectsWith(sqs.deleteMessage({ QueueUrl: url, ReceiptHandle: 'garbage' }), { code: 'ReceiptHandleIsInvalid' });
  });

  it('SendMessageBatch with one oversized entry: the others succeed, that one fails with SenderFault', async () => {
    const url = await queues.create('jsv2-batch', { attributes: { MaximumMessageSize: '1024' } });
    const attrs = { k: { DataType: 'String', StringValue: 'v' } };
    const out = await sqs.sendMessageBatch({
      QueueUrl: url,
      Entries: [
        { Id: 'ok1', MessageBody: 'first' },
        { Id: 'toobig', MessageBody: 'x'.repeat(2000) },
        { Id: 'ok2', MessageBody: 'second', MessageAttributes: attrs },
      ],
    }).promise();
    const ok = Object.fromEntries(out.Successful.map((e) => [e.Id, e]));
    assert.deepEqual(Object.keys(ok).sort(), ['ok1', 'ok2']);
    assert.equal(ok.ok1.MD5OfMessageBody, md5('first'));
    assert.equal(ok.ok1.MD5OfMessageAttributes, undefined);
    assert.equal(ok.ok2.MD5OfMessageAttributes, md5OfAttributes(attrs));
    assert.equal(out.Failed.length, 1);
    const [f] = out.Failed;
    assert.equal(f.Id, 'toobig');
    assert.equal(f.Code, 'InvalidParameterValue');
    assert.equal(f.SenderFault, true);
    assert.match(f.Message, /1024/);
    const got = await receiveAll(sqs, url, 2);
    assert.deepEqual(got.map((x) => x.Body).sort(), ['first', 'second']);

    await rejectsWith(sqs.sendMessageBatch({ QueueUrl: url, Entries: [{ Id: 'x', MessageBody: 'a' }, { Id: 'x', MessageBody: 'b' }] }),
      { code: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', status: 400 });
  });

  it('FIFO: one message group is received in send order with SequenceNumbers', async () => {
    const url = await queues.create('jsv2-fifo', { fifo: true });
    const { Attributes: qa } = await sqs.getQueueAttributes({ QueueUrl: url, AttributeNames: ['All'] }).promise();
    assert.equal(qa.FifoQueue, 'true');
    assert.equal(qa.ContentBasedDeduplication, 'false');
    const bodies = [];
    const seqs = [];
    for (let i = 0; i < 6; i++) {
      bodies.push(`fifo-${i}`);
      const sent = await sqs.sendMessage({ QueueUrl: url, MessageBody: bodies[i], MessageGroupId: 'g1', MessageDeduplicationId: `d${i}` }).promise();
      assert.match(sent.SequenceNumber, /^\d+$/);
      if (i > 0) assert.ok(BigInt(sent.SequenceNumber) > BigInt(seqs[i - 1]), `${sent.SequenceNumber} after ${seqs[i - 1]}`);
      seqs.push(sent.SequenceNumber);
    }
    // The same dedup id within 5 minutes is accepted but not delivered again.
    await sqs.sendMessage({ QueueUrl: url, MessageBody: 'dup', MessageGroupId: 'g1', MessageDeduplicationId: 'd0' }).promise();
    await rejectsWith(sqs.sendMessage({ QueueUrl: url, MessageBody: 'nogroup', MessageDeduplicationId: 'x' }), { code: 'MissingParameter', status: 400 });

    const got = await receiveAll(sqs, url, 6, { VisibilityTimeout: 60, AttributeNames: ['All'] });
    assert.deepEqual(got.map((m) => m.Body), bodies);
    assert.deepEqual(got.map((m) => m.Attributes.SequenceNumber), seqs);
    for (const m of got) assert.equal(m.Attributes.MessageGroupId, 'g1');
    const extra = await sqs.receiveMessage({ QueueUrl: url, MaxNumberOfMessages: 10 }).promise();
    assert.equal((extra.Messages || []).length, 0);
    const del = await sqs.deleteMessageBatch({ QueueUrl: url, Entries: got.map((m, i) => ({ Id: `e${i}`, ReceiptHandle: m.ReceiptHandle })) }).promise();
    assert.equal(del.Successful.length, 6);
    assert.equal(del.Failed.length, 0);
  });
});
