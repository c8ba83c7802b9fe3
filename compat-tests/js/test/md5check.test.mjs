// Proves the harness keeps the SDK's MD5 validation on: the same client configuration,
// pointed at a loopback stub that answers with a wrong MD5, must throw.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SQSClient, SendMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';

let server;
let endpoint;
before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const target = req.headers['x-amz-target'] || '';
      res.setHeader('content-type', 'application/x-amz-json-1.0');
      res.setHeader('x-amzn-requestid', '00000000-0000-0000-0000-000000000000');
      if (target.endsWith('SendMessage')) {
        res.end(JSON.stringify({ MessageId: '11111111-1111-1111-1111-111111111111', MD5OfMessageBody: '00000000000000000000000000000000' }));
      } else {
        res.end(JSON.stringify({ Messages: [{ MessageId: 'm', ReceiptHandle: 'r', Body: 'hello', MD5OfBody: 'ffffffffffffffffffffffffffffffff' }] }));
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${server.address().port}`;
});
after(() => new Promise((r) => server.close(r)));

describe('sdk md5 validation (stub server, not cauda)', () => {
  const client = () => new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  it('SendMessage with a wrong MD5OfMessageBody throws', async () => {
    await assert.rejects(client().send(new SendMessageCommand({ QueueUrl: `${endpoint}/000000000000/q`, MessageBody: 'hello' })), /md5|checksum/i);
  });
  it('ReceiveMessage with a wrong MD5OfBody throws', async () => {
    await assert.rejects(client().send(new ReceiveMessageCommand({ QueueUrl: `${endpoint}/000000000000/q` })), /md5|checksum/i);
  });
});
