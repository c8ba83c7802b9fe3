// Shared helpers of the console suite: the SDK on one side, Debian's chromium (driven by
// playwright-core) on the other, and polling assertions with generous bounds.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SQSClient, CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';

export const ENDPOINT = (process.env.CAUDA_ENDPOINT || '').replace(/\/$/, '');
export const STRICT_ENDPOINT = (process.env.CAUDA_STRICT_ENDPOINT || '').replace(/\/$/, '');
export const REGION = 'us-east-1';
if (!ENDPOINT) throw new Error('CAUDA_ENDPOINT is not set (run compat-tests/run.sh)');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Where the screenshots go (named in the README). */
export const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS || path.join(ROOT, 'target', 'console-screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export function makeClient({ endpoint = ENDPOINT, accessKeyId = 'test', secretAccessKey = 'test', region = REGION } = {}) {
  return new SQSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
}
export const sqs = makeClient();

export function uniqueName(prefix = 'console') {
  return `${prefix}-${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}

export class Queues {
  constructor(client = sqs) { this.client = client; this.urls = []; }
  async create(prefix, attributes) {
    const input = { QueueName: uniqueName(prefix) };
    if (attributes) input.Attributes = attributes;
    const { QueueUrl } = await this.client.send(new CreateQueueCommand(input));
    this.urls.push(QueueUrl);
    return QueueUrl;
  }
  async cleanup() {
    for (const QueueUrl of this.urls) {
      try { await this.client.send(new DeleteQueueCommand({ QueueUrl })); } catch { /* gone */ }
    }
  }
}

export const nameOf = (url) => url.replace(/\/$/, '').split('/').pop();

/** Launches Debian's chromium headless, with a fresh profile (playwright makes a temporary one). */
export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 60_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A new page that records the page's uncaught errors in `errors`. */
export async function openPage(browser, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

/** Retries `check` (which throws while its assertion fails) until it passes or `ms` run out. */
export async function eventually(check, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { assert };
