// The console's entry: settings, sign-in (when signatures are checked), and the hash router
// (#/ the queues, #/queue/NAME one queue).
import * as api from './api.js';
import { h, fill, errorBox } from './ui.js';
import { queuesPage } from './queues.js';
import { queuePage } from './queue.js';

const main = document.getElementById('main');
let settings = null;
let stopPage = null;
/** The region chosen in this tab when no credentials are kept. */
const REGION = 'cauda-console-region';

async function start() {
  try {
    settings = await api.settings();
  } catch (e) {
    fill(main, errorBox(e));
    return;
  }
  const saved = api.savedCredentials();
  if (saved) {
    api.useCredentials(saved);
  } else if (!settings.signatures_checked) {
    // Nothing checks the secret: any well-formed signature names the caller.
    const region = sessionStorage.getItem(REGION) || settings.region;
    api.useCredentials({ accessKeyId: 'cauda-console', secretAccessKey: 'unchecked', region });
  }
  window.addEventListener('hashchange', route);
  route();
}

function session() {
  const el = document.getElementById('session');
  const c = api.credentials();
  if (!c) { fill(el); return; }
  const region = h('input', {
    id: 'region', 'aria-label': 'Region', value: c.region, size: 12, spellcheck: 'false',
    onchange: (e) => {
      const next = { ...c, region: e.target.value.trim() || settings.region };
      api.useCredentials(next);
      if (api.savedCredentials()) api.saveCredentials(next);
      else sessionStorage.setItem(REGION, next.region);
      route();
    },
  });
  fill(el,
    h('label', { for: 'region', class: 'muted' }, 'Region'), region,
    settings.signatures_checked
      ? [h('span', { class: 'muted who', title: 'access key' }, c.accessKeyId),
        h('button', { class: 'secondary small', onclick: () => { api.forgetCredentials(); route(); } }, 'Sign out')]
      : null);
}

function signIn() {
  const err = h('div');
  const form = h('form', {
    class: 'card signin', 'aria-labelledby': 'signin-title',
    onsubmit: async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const c = {
        accessKeyId: String(data.get('accessKeyId')).trim(),
        secretAccessKey: String(data.get('secretAccessKey')),
        region: String(data.get('region')).trim() || settings.region,
      };
      api.useCredentials(c);
      fill(err);
      try {
        // The admin API checks the signature like any SQS request.
        await api.admin('GET', 'queues');
        api.saveCredentials(c);
        route();
      } catch (x) {
        api.forgetCredentials();
        fill(err, errorBox(x));
      }
    },
  },
  h('h1', { id: 'signin-title' }, 'Sign in'),
  h('p', { class: 'muted' }, 'This server checks SigV4 signatures. Enter one of its credentials: requests are signed in this tab, and the key is kept only in this tab\u2019s session storage.'),
  h('label', { for: 'ak' }, 'Access key ID'),
  h('input', { id: 'ak', name: 'accessKeyId', required: true, autocomplete: 'username', spellcheck: 'false' }),
  h('label', { for: 'sk' }, 'Secret access key'),
  h('input', { id: 'sk', name: 'secretAccessKey', type: 'password', required: true, autocomplete: 'current-password' }),
  h('label', { for: 'rg' }, 'Region'),
  h('input', { id: 'rg', name: 'region', value: settings.region, spellcheck: 'false' }),
  err,
  h('div', { class: 'row end' }, h('button', { type: 'submit' }, 'Sign in')));
  fill(main, form);
  form.querySelector('input').focus();
}

function route() {
  if (stopPage) { stopPage(); stopPage = null; }
  session();
  if (!api.credentials()) { signIn(); return; }
  const hash = location.hash.replace(/^#/, '') || '/';
  const m = /^\/queue\/(.+)$/.exec(hash);
  stopPage = m ? queuePage(main, decodeURIComponent(m[1])) : queuesPage(main);
}

start();
