// What aws-sdk v2 puts on the wire, seen by a loopback stub (not cauda): the Query
// protocol, requests sent to the host and path inside QueueUrl, and MD5 validation on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { makeClient, sqs, SDK_VERSION } from './helpers.mjs';

const NS = 'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"';
const META = '<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>';
const REPLIES = {
  ListQueues: `<ListQueuesResponse ${NS}><ListQueuesResult><QueueUrl>http://127.0.0.1:1/000000000000/a</QueueUrl></ListQueuesResult>${META}</ListQueuesResponse>`,
  SendMessage: `<SendMessageResponse ${NS}><SendMessageResult><MessageId>m-1</MessageId><MD5OfMessageBody>5d41402abc4b2a76b9719d911017c592</MD5OfMessageBody></SendMessageResult>${META}</SendMessageResponse>`,
};
const BAD_MD5 = {
  SendMessage: `<SendMessageResponse ${NS}><SendMessageResult><MessageId>m-1</MessageId><MD5OfMessageBody>00000000000000000000000000000000</MD5OfMessageBody></SendMessageResult>${META}</SendMessageResponse>`,
  ReceiveMessage: `<ReceiveMessageResponse ${NS}><ReceiveMessageResult><Message><MessageId>m-1</MessageId><ReceiptHandle>rh</ReceiptHandle><MD5OfBody>ffffffffffffffffffffffffffffffff</MD5OfBody><Body>hello</Body></Message></ReceiveMessageResult>${META}</ReceiveMessageResponse>`,
};

let server;
let stubUrl;
let replies = REPLIES;
const seen = [];
before(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      seen.push({ method: req.method, path: req.url, headers: req.headers, form });
      res.setHeader('content-type', 'text/xml');
      const reply = replies[form.get('Action')];
      if (!reply) res.statusCode = 400;
      res.end(reply || `<ErrorResponse ${NS}><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>stub</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  stubUrl = `http://127.0.0.1:${server.address().port}`;
});
after(() => new Promise((r) => server.close(r)));

describe('aws-sdk v2 wire format (stub server)', () => {
  it('is the pinned release, with the Query protocol and checksums on', () => {
    assert.equal(SDK_VERSION, '2.1490.0');
    assert.equal(sqs.api.protocol, 'query');
    assert.equal(sqs.config.computeChecksums, true);
  });

  it('sends a form-encoded Query POST to the endpoint for operations without QueueUrl', async () => {
    replies = REPLIES;
    const out = await makeClient({ endpoint: stubUrl }).listQueues({ QueueNamePrefix: 'pre' }).promise();
    assert.deepEqual(out.QueueUrls, ['http://127.0.0.1:1/000000000000/a']);
    const r = seen.at(-1);
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/');
    assert.match(r.headers['content-type'], /^application\/x-www-form-urlencoded/);
    assert.equal(r.form.get('Action'), 'ListQueues');
    assert.equal(r.form.get('Version'), '2012-11-05');
    assert.equal(r.form.get('QueueNamePrefix'), 'pre');
    assert.match(r.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/sqs\/aws4_request/);
  });

  it('sends requests that carry a QueueUrl to that URL\'s host, ignoring the endpoint', async () => {
    replies = REPLIES;
    const queueUrl = `${stubUrl}/000000000000/some-queue`;
    // The configured endpoint is a dead port: only the QueueUrl's host can answer.
    const client = makeClient({ endpoint: 'http://127.0.0.1:1' });
    const out = await client.sendMessage({ QueueUrl: queueUrl, MessageBody: 'hello' }).promise();
    assert.equal(out.MessageId, 'm-1');
    const r = seen.at(-1);
    // The host comes from QueueUrl; the path stays "/" and QueueUrl is a form parameter.
    assert.equal(r.path, '/');
    assert.equal(r.headers.host, new URL(stubUrl).host);
    assert.equal(r.form.get('Action'), 'SendMessage');
    assert.equal(r.form.get('QueueUrl'), queueUrl);
    assert.equal(r.form.get('MessageBody'), 'hello');
  });

  it('rejects a wrong MD5OfMessageBody / MD5OfBody with InvalidChecksum', async () => {
    replies = BAD_MD5;
    const client = makeClient({ endpoint: stubUrl });
    const QueueUrl = `${stubUrl}/000000000000/q`;
    await assert.rejects(client.sendMessage({ QueueUrl, MessageBody: 'hello' }).promise(), (e) => e.code === 'InvalidChecksum');
    await assert.rejects(client.receiveMessage({ QueueUrl }).promise(), (e) => e.code === 'InvalidChecksum');
  });
});
