// Shared helpers for the aws-sdk v2 (2.1490.0, AWS Query protocol) suite.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import AWS from 'aws-sdk';

export { AWS };
export const SDK_VERSION = createRequire(import.meta.url)('aws-sdk/package.json').version;
export const ENDPOINT = (process.env.CAUDA_ENDPOINT || '').replace(/\/$/, '');
export const ACCOUNT = '000000000000';
export const REGION = 'us-east-1';

if (!ENDPOINT) {
  throw new Error('CAUDA_ENDPOINT is not set (run compat-tests/run.sh)');
}

// computeChecksums is left at its default (true): the SDK checks MD5OfMessageBody on
// SendMessage/SendMessageBatch and MD5OfBody on ReceiveMessage, and fails the call otherwise.
// No retries, so a checksum failure (which the SDK marks retryable) surfaces at once.
export function makeClient({ endpoint = ENDPOINT, accessKeyId = 'AKIDEXAMPLE', secretAccessKey = 'secret', region = REGION } = {}) {
  return new AWS.SQS({
    endpoint,
    region,
    credentials: new AWS.Credentials(accessKeyId, secretAccessKey),
    maxRetries: 0,
    httpOptions: { connectTimeout: 5000, timeout: 40000 },
  });
}

export const sqs = makeClient();

export function uniqueName(prefix = 'jsv2', fifo = false) {
  const n = `${prefix}-${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  return fifo ? `${n}.fifo` : n;
}

export const queueArn = (name, account = ACCOUNT) => `arn:aws:sqs:${REGION}:${account}:${name}`;
export const md5 = (data) => createHash('md5').update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest('hex');

// SQS-REFERENCE §5.3. aws-sdk v2 checks body MD5s only, so attribute MD5s are checked here.
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

// Creates queues with unique names; call cleanup() in after().
export class Queues {
  constructor(client = sqs) { this.client = client; this.urls = []; }
  async create(prefix = 'jsv2', { fifo = false, attributes = {}, tags, name } = {}) {
    const QueueName = name || uniqueName(prefix, fifo);
    const Attributes = { ...attributes };
    if (fifo && !Attributes.FifoQueue) Attributes.FifoQueue = 'true';
    const input = { QueueName };
    if (Object.keys(Attributes).length) input.Attributes = Attributes;
    if (tags) input.tags = tags;
    const { QueueUrl } = await this.client.createQueue(input).promise();
    this.urls.push(QueueUrl);
    return QueueUrl;
  }
  async cleanup() {
    for (const QueueUrl of this.urls) {
      try { await this.client.deleteQueue({ QueueUrl }).promise(); } catch { /* already gone */ }
    }
    this.urls = [];
  }
}

// Assert a request rejects with the given SQS error: aws-sdk v2 puts the Query error
// <Code> in err.code and the HTTP status in err.statusCode.
export async function rejectsWith(request, { code, status } = {}) {
  let err;
  try {
    await request.promise();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error (${code}) but the call succeeded`);
  const detail = `got code=${err.code} statusCode=${err.statusCode} message=${err.message}`;
  if (code) assert.equal(err.code, code, detail);
  if (status) assert.equal(err.statusCode, status, detail);
  return err;
}

export async function receiveAll(client, QueueUrl, want, params = {}) {
  const got = [];
  for (let i = 0; i < 10 && got.length < want; i++) {
    const out = await client.receiveMessage({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, ...params }).promise();
    got.push(...(out.Messages || []));
  }
  return got;
}
