// SigV4 against the strict server (--auth strict, two credentials) with @aws-sdk/client-sqs v3.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateQueueCommand, DeleteQueueCommand, ListQueuesCommand, GetQueueUrlCommand, SendMessageCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { makeClient, uniqueName, rejectsWith, STRICT_ENDPOINT } from './helpers.mjs';

const compat = makeClient({ endpoint: STRICT_ENDPOINT, accessKeyId: 'AKIDCOMPAT', secretAccessKey: 'compatsecret' });
const other = makeClient({ endpoint: STRICT_ENDPOINT, accessKeyId: 'AKIDOTHER', secretAccessKey: 'othersecret' });
const created = [];
after(async () => {
  for (const [c, QueueUrl] of created) {
    try { await c.send(new DeleteQueueCommand({ QueueUrl })); } catch { /* gone */ }
  }
});

describe('auth (strict)', { skip: !STRICT_ENDPOINT && 'CAUDA_STRICT_ENDPOINT not set' }, () => {
  it('accepts the right secret', async () => {
    const name = uniqueName('js-auth');
    const { QueueUrl } = await compat.send(new CreateQueueCommand({ QueueName: name }));
    created.push([compat, QueueUrl]);
    assert.equal(QueueUrl, `${STRICT_ENDPOINT}/111111111111/${name}`);
    await compat.send(new SendMessageCommand({ QueueUrl, MessageBody: 'signed by js' }));
    const { Messages } = await compat.send(new ReceiveMessageCommand({ QueueUrl }));
    assert.equal(Messages[0].Body, 'signed by js');
  });

  it('rejects a wrong secret with SignatureDoesNotMatch', async () => {
    const bad = makeClient({ endpoint: STRICT_ENDPOINT, accessKeyId: 'AKIDCOMPAT', secretAccessKey: 'nope' });
    await rejectsWith(bad.send(new ListQueuesCommand({})), { code: 'SignatureDoesNotMatch', status: 403 });
  });

  it('rejects an unknown key with InvalidClientTokenId', async () => {
    const bad = makeClient({ endpoint: STRICT_ENDPOINT, accessKeyId: 'AKIDWHO', secretAccessKey: 'nope' });
    await rejectsWith(bad.send(new ListQueuesCommand({})), { code: 'InvalidClientTokenId', status: 403 });
  });

  it('keeps the two accounts apart', async () => {
    const name = uniqueName('js-iso');
    const { QueueUrl } = await compat.send(new CreateQueueCommand({ QueueName: name }));
    created.push([compat, QueueUrl]);
    const listed = await other.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    assert.deepEqual(listed.QueueUrls || [], []);
    await rejectsWith(other.send(new GetQueueUrlCommand({ QueueName: name })),
      { name: 'QueueDoesNotExist', code: 'AWS.SimpleQueueService.NonExistentQueue' });
    const mine = await other.send(new CreateQueueCommand({ QueueName: name }));
    created.push([other, mine.QueueUrl]);
    assert.equal(mine.QueueUrl, `${STRICT_ENDPOINT}/222222222222/${name}`);
  });
});

describe('auth clock skew (strict)', { skip: !STRICT_ENDPOINT && 'CAUDA_STRICT_ENDPOINT not set' }, () => {
  it('rejects a request signed 20 minutes in the past', async () => {
    const skewed = makeClient({ endpoint: STRICT_ENDPOINT, accessKeyId: 'AKIDCOMPAT', secretAccessKey: 'compatsecret' });
    skewed.config.systemClockOffset = -20 * 60 * 1000;
    const err = await rejectsWith(skewed.send(new ListQueuesCommand({})), {});
    assert.ok(['RequestExpired', 'SignatureDoesNotMatch'].includes(err.Code), `Code=${err.Code}`);
    assert.ok([400, 403].includes(err.$metadata.httpStatusCode), `status=${err.$metadata.httpStatusCode}`);
  });
});
