// The fixtures other tests stand on, proved against real clients: the OpenID provider through
// a full code + PKCE sign-in in Chromium, the SMTP sink through raw SMTP over a socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './harness.mjs';
import { startIdp } from './fixtures/idp.mjs';
import { startSmtpSink } from './fixtures/smtp.mjs';

const ACCOUNT = { sub: 'alice', name: 'Nguyễn Thị An (synthetic)', personal_id: '001190012345' };
const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

/** A stand-in for the service's callback: records each query it is sent. */
async function startCallback() {
  const queries = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/auth/callback') queries.push(Object.fromEntries(url.searchParams)); // not /favicon.ico
    res.setHeader('Content-Type', 'text/plain');
    res.end('callback reached');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/auth/callback`,
    queries,
    stop: () => { server.closeAllConnections(); return new Promise((resolve) => server.close(resolve)); },
  };
}

test('the IdP signs a user in with code + PKCE in Chromium and the ID token carries name and personal_id', async (t) => {
  const callback = await startCallback();
  t.after(() => callback.stop());
  const client = { client_id: 'diaba-test', client_secret: 'not-a-real-secret', redirect_uris: [callback.url] };
  const idp = await startIdp({ clients: [client], accounts: [ACCOUNT] });
  t.after(() => idp.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());

  const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
  assert.equal(discovery.issuer, idp.issuer);
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: client.client_id, redirect_uri: callback.url, response_type: 'code', scope: 'openid profile',
    state, nonce, code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
  });

  const page = await browser.newPage();
  await page.goto(authorize.href);
  // An unknown account gets the form back with an error, not a sign-in.
  await page.fill('#login', 'mallory');
  await page.click('#signin');
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /No account "mallory"/);
  assert.equal(callback.queries.length, 0);

  await page.fill('#login', ACCOUNT.sub);
  await Promise.all([page.waitForURL(`${callback.url}?**`), page.click('#signin')]);
  assert.equal(callback.queries.length, 1, 'no consent page between login and the callback');
  const [query] = callback.queries;
  assert.equal(query.state, state);
  assert.equal(query.iss, idp.issuer);
  assert.ok(query.code);

  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: query.code, redirect_uri: callback.url, code_verifier: verifier }),
  });
  const tokens = await response.json();
  assert.equal(response.status, 200, JSON.stringify(tokens));
  const [header, payload, signature] = tokens.id_token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  assert.equal(claims.iss, idp.issuer);
  assert.equal(claims.aud, client.client_id);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.sub, ACCOUNT.sub);
  assert.equal(claims.name, ACCOUNT.name);
  assert.equal(claims.personal_id, ACCOUNT.personal_id);

  // And it is signed with the RS256 key the provider publishes.
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url'));
  assert.equal(alg, 'RS256');
  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  const key = createPublicKey({ key: keys.find((k) => k.kid === kid), format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')));

  // A code is good once. (client_secret_post is accepted too: the error is the grant's.)
  const again = await fetch(discovery.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code: query.code, redirect_uri: callback.url, code_verifier: 'x'.repeat(43), client_id: client.client_id, client_secret: client.client_secret }),
  });
  assert.equal(again.status, 400);
  assert.equal((await again.json()).error, 'invalid_grant');
});

/** Speaks SMTP line by line: each step sends `line` (unless null) and checks the reply code. */
async function smtpSession(port, steps) {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const pending = [];
  socket.on('data', (chunk) => {
    buffer += chunk;
    // A reply is complete at a line whose code is followed by a space (not "250-...").
    let match;
    while ((match = buffer.match(/^(?:\d{3}-[^\n]*\n)*(\d{3}) [^\n]*\n/))) {
      buffer = buffer.slice(match[0].length);
      pending.shift()?.(match[0]);
    }
  });
  const reply = () => new Promise((resolve) => pending.push(resolve));
  try {
    assert.match(await reply(), /^220/);
    for (const [line, code] of steps) {
      const next = reply();
      socket.write(`${line}\r\n`);
      assert.match(await next, new RegExp(`^${code}`), `reply to ${line.split('\r\n')[0]}`);
    }
  } finally {
    socket.end();
  }
}

test('the SMTP sink receives raw SMTP and decodes an RFC 2047 UTF-8 subject', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const subject = 'Mã đăng nhập diaba của bạn';
  const text = 'Xin chào! Mã của bạn là 123456.';
  await smtpSession(sink.port, [
    ['EHLO test.invalid', 250],
    ['MAIL FROM:<no-reply@diaba.test>', 250],
    ['RCPT TO:<an@example.test>', 250],
    ['DATA', 354],
    [[
      'From: diaba <no-reply@diaba.test>',
      'To: an@example.test',
      `Subject: =?UTF-8?B?${Buffer.from(subject).toString('base64')}?=`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      text,
      '.',
    ].join('\r\n'), 250],
    ['QUIT', 221],
  ]);
  const message = await sink.waitFor((m) => m.to.includes('an@example.test'), 5000);
  assert.equal(message.from, 'no-reply@diaba.test');
  assert.deepEqual(message.to, ['an@example.test']);
  assert.equal(message.subject, subject);
  assert.equal(message.text.trim(), text);
  assert.match(message.raw, /=\?UTF-8\?B\?/);
  await assert.rejects(sink.waitFor((m) => m.subject === 'never sent', 50), /no matching mail/);
});

test('both fixtures run as commands that print their address and stop on SIGTERM', async () => {
  const run = (file, args, pattern) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL(`fixtures/${file}`, import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    // One listener for the child's life: output that comes while nobody waits is kept.
    const lines = [];
    let wake = () => {};
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => { lines.push(...chunk.split('\n').filter(Boolean)); wake(); });
    const waitLine = (re) => new Promise((resolve, reject) => {
      const check = () => { const line = lines.find((l) => re.test(l)); if (line) resolve(line); };
      wake = check;
      child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
      check();
    });
    const stop = () => { const exited = new Promise((resolve) => child.once('exit', resolve)); child.kill('SIGTERM'); return exited; };
    return { started: waitLine(pattern), waitLine, stop };
  };

  const idp = run('idp.mjs', ['--client-id', 'c', '--client-secret', 's', '--redirect-uri', 'http://127.0.0.1:9/cb', '--account', `${ACCOUNT.sub}:${ACCOUNT.personal_id}:${ACCOUNT.name}`], /^idp listening on /);
  const smtp = run('smtp.mjs', [], /^smtp listening on /);
  try {
    const issuer = (await idp.started).match(/^idp listening on (http:\/\/127\.0\.0\.1:\d+)$/)[1];
    assert.equal((await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()).issuer, issuer);
    const port = Number((await smtp.started).match(/^smtp listening on (\d+)$/)[1]);
    await smtpSession(port, [
      ['HELO test.invalid', 250], ['MAIL FROM:<a@diaba.test>', 250], ['RCPT TO:<b@example.test>', 250], ['DATA', 354],
      ['Subject: =?UTF-8?B?' + Buffer.from('Chào').toString('base64') + '?=\r\n\r\nhello\r\n.', 250], ['QUIT', 221],
    ]);
    assert.deepEqual(JSON.parse(await smtp.waitLine(/^\{/)), { to: ['b@example.test'], subject: 'Chào', text: 'hello\n' });
  } finally {
    assert.equal(await idp.stop(), 0);
    assert.equal(await smtp.stop(), 0);
  }
});
