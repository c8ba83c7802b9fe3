// Shared helpers for the @aws-sdk/client-sqs (v3, AWS JSON 1.0) suite.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import {
  SQSClient, CreateQueueCommand, DeleteQueueCommand,
} from '@aws-sdk/client-sqs';

export const ENDPOINT = (process.env.CAUDA_ENDPOINT || '').replace(/\/$/, '');
export const STRICT_ENDPOINT = (process.env.CAUDA_STRICT_ENDPOINT || '').replace(/\/$/, '');
export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';

if (!ENDPOINT) {
  throw new Error('CAUDA_ENDPOINT is not set (run compat-tests/run.sh)');
}

// md5 checking is left at its default (enabled): a wrong MD5 from the server throws.
export function makeClient({ endpoint = ENDPOINT, accessKeyId = 'test', secretAccessKey = 'test', region = REGION } = {}) {
  return new SQSClient({
    endpoint,
    region,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
}

export const sqs = makeClient();

export function uniqueName(prefix = 'js', fifo = false) {
  const n = `${prefix}-${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  return fifo ? `${n}.fifo` : n;
}

export const queueArn = (name, account = ACCOUNT) => `arn:aws:sqs:${REGION}:${account}:${name}`;
export const nameOf = (url) => url.replace(/\/$/, '').split('/').pop();
export const md5 = (data) => createHash('md5').update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest('hex');

export function md5OfAttributes(attrs) {
  const parts = [];
  const lp = (buf) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    parts.push(len, buf);
  };
  for (const name of Object.keys(attrs).sort()) {
    const v = attrs[name];
    lp(Buffer.from(name, 'utf8'));
    lp(Buffer.from(v.DataType, 'utf8'));
    if (v.StringValue !== undefined) {
      parts.push(Buffer.from([1]));
      lp(Buffer.from(v.StringValue, 'utf8'));
    } else {
      parts.push(Buffer.from([2]));
      lp(Buffer.from(v.BinaryValue));
    }
  }
  return md5(Buffer.concat(parts));
}

// Creates queues with unique names; call cleanup() in after()/finally.
export class Queues {
  constructor(client = sqs) { this.client = client; this.urls = []; }
  async create(prefix = 'js', { fifo = false, attributes = {}, tags, name } = {}) {
    const QueueName = name || uniqueName(prefix, fifo);
    const Attributes = { ...attributes };
    if (fifo && !Attributes.FifoQueue) Attributes.FifoQueue = 'true';
    const input = { QueueName };
    if (Object.keys(Attributes).length) input.Attributes = Attributes;
    if (tags) input.tags = tags;
    const { QueueUrl } = await this.client.send(new CreateQueueCommand(input));
    this.urls.push(QueueUrl);
    return QueueUrl;
  }
  async cleanup() {
    for (const QueueUrl of this.urls) {
      try { await this.client.send(new DeleteQueueCommand({ QueueUrl })); } catch { /* already gone */ }
    }
    this.urls = [];
  }
}

// Assert a promise rejects with the given SQS error. `code` is the Query-compatible
// code (x-amzn-query-error header, exposed by the SDK as err.Code); `name` the class.
export async function rejectsWith(promise, { code, name, status, type = 'Sender' } = {}) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error (${code || name}) but the call succeeded`);
  const detail = `server said: name=${err.name} Code=${err.Code} Type=${err.Type} status=${err.$metadata?.httpStatusCode} message=${err.message}`;
  if (name) assert.equal(err.name, name, detail);
  if (code) assert.equal(err.Code, code, detail);
  if (status) assert.equal(err.$metadata?.httpStatusCode, status, detail);
  if (type && code) assert.equal(err.Type, type, detail);
  return err;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
