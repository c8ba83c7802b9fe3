// The console's two ways to the server, both signed with SigV4 in the browser (aws4fetch, Web
// Crypto): SQS actions as AWS JSON 1.0 requests (X-Amz-Target), exactly as the SDKs send them,
// and the admin API under /_cauda/ for what SQS has no action for (listing with counters, peek,
// delete by message id). Credentials live in this tab's sessionStorage only.
import { AwsClient } from './vendor/aws4fetch.esm.mjs';

const STORE = 'cauda-console-credentials';
let client = null;
let current = null;

/** An error the server answered, with its SQS code. */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message ? `${code}: ${message}` : String(code));
    this.code = code;
    this.status = status;
  }
}

/** What the server tells an unsigned page: whether signatures are checked, its region. */
export async function settings() {
  const r = await fetch('/_cauda/console/settings.json', { cache: 'no-store' });
  if (!r.ok) throw new ApiError(r.status, 'cannot read the console settings');
  return r.json();
}

/** Uses these credentials for every following request. */
export function useCredentials({ accessKeyId, secretAccessKey, region }) {
  current = { accessKeyId, secretAccessKey, region };
  client = new AwsClient({ accessKeyId, secretAccessKey, region, service: 'sqs', retries: 0 });
}

export function credentials() { return current; }

/** Credentials kept by this tab (sessionStorage), if any. */
export function savedCredentials() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || 'null'); } catch { return null; }
}
export function saveCredentials(c) { sessionStorage.setItem(STORE, JSON.stringify(c)); }
export function forgetCredentials() { sessionStorage.removeItem(STORE); current = null; client = null; }

async function decoded(r) {
  const text = await r.text();
  let data = {};
  if (text) {
    try { data = JSON.parse(text); } catch { data = { raw: text }; }
  }
  if (r.ok) return data;
  const err = data.Error || data.ErrorResponse?.Error || {};
  const type = data.__type || err.Code || data.code;
  const code = type ? String(type).split('#').pop() : `HTTP ${r.status}`;
  const message = data.message || data.Message || err.Message || data.error || xmlMessage(data.raw) || '';
  throw new ApiError(code, message, r.status);
}

function xmlMessage(xml) {
  if (!xml) return '';
  const code = /<Code>([^<]*)<\/Code>/.exec(xml);
  const msg = /<Message>([^<]*)<\/Message>/.exec(xml);
  return [code && code[1], msg && msg[1]].filter(Boolean).join(': ');
}

/** One SQS action, e.g. sqs('ListQueues', {}), answered as the JSON protocol answers it. */
export async function sqs(action, params = {}) {
  if (!client) throw new ApiError('NoCredentials', 'sign in first');
  const r = await client.fetch(`${location.origin}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `AmazonSQS.${action}`,
    },
    body: JSON.stringify(params),
  });
  return decoded(r);
}

/** An admin API request under /_cauda/ (path without the prefix). */
export async function admin(method, path) {
  if (!client) throw new ApiError('NoCredentials', 'sign in first');
  const r = await client.fetch(`${location.origin}/_cauda/${path}`, {
    method,
    headers: { Accept: 'application/json' },
  });
  return decoded(r);
}

/** The account and name in a queue URL's path (http://host/ACCOUNT/NAME). */
export function queueUrlParts(url) {
  const parts = new URL(url).pathname.split('/').filter(Boolean);
  return { account: parts[0], name: parts[1] };
}

/** An SQS ARN's parts. */
export function arnParts(arn) {
  const [, , , region, account, name] = String(arn || '').split(':');
  return { region, account, name };
}
