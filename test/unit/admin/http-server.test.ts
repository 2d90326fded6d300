/**
 * The admin HTTP endpoint (SPEC §7, §8): bearer token (RFC 6750) on every request when set and
 * required off loopback; 404 for unknown paths, 405 with Allow for a wrong method; `/healthz` 200
 * only when every check holds, else 503 naming the failing ones (a throwing or hanging check
 * fails); `/metrics` as Prometheus text; recording pause/resume audited with the caller's address.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AdminHttpServer, type AdminAuditEntry, type AdminHttpOptions } from '../../../src/admin/index.js';
import { AppError } from '../../../src/errors.js';

const SNAPSHOT = { calls: 1, dialogs: 2, transactions: 3, registrations: 0 };

async function start(options: Partial<AdminHttpOptions> = {}): Promise<{ admin: AdminHttpServer; url: string }> {
  const admin = await AdminHttpServer.start({ host: '127.0.0.1', port: 0, health: () => SNAPSHOT, ...options });
  return { admin, url: `http://127.0.0.1:${admin.port}` };
}

async function request(
  url: string,
  init: { method?: string; token?: string; authorization?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers['authorization'] = `Bearer ${init.token}`;
  if (init.authorization !== undefined) headers['authorization'] = init.authorization;
  const response = await fetch(url, { method: init.method ?? 'GET', headers, signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

describe('admin HTTP endpoint', () => {
  describe('bearer token', () => {
    const TOKEN = 's3cret-token-value';
    let server: { admin: AdminHttpServer; url: string };
    before(async () => {
      server = await start({ token: TOKEN });
    });
    after(() => server.admin.close());

    it('answers 401 with a Bearer challenge without a token, with a wrong one or another scheme', async () => {
      for (const init of [{}, { token: 'wrong' }, { token: `${TOKEN}x` }, { authorization: `Basic ${TOKEN}` }]) {
        const response = await request(`${server.url}/healthz`, init);
        assert.equal(response.status, 401, JSON.stringify(init));
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="callrec"');
        assert.ok(!response.text.includes(TOKEN), 'the token is never echoed');
      }
    });

    it('refuses unknown paths without a token with 401 too (no route discovery)', async () => {
      assert.equal((await request(`${server.url}/nowhere`)).status, 401);
    });

    it('serves the request with the right token; the scheme is case-insensitive', async () => {
      assert.equal((await request(`${server.url}/healthz`, { token: TOKEN })).status, 200);
      assert.equal((await request(`${server.url}/healthz`, { authorization: `bearer ${TOKEN}` })).status, 200);
    });
  });

  describe('start-up', () => {
    it('refuses a non-loopback host without a token, before binding anything', async () => {
      await assert.rejects(
        AdminHttpServer.start({ host: '0.0.0.0', port: 0, health: () => SNAPSHOT }),
        (error: unknown) =>
          error instanceof AppError && error.code === 'CONFIG_INVALID' && /admin\.http\.token/.test(error.message),
      );
    });

    it('refuses an empty token', async () => {
      await assert.rejects(
        AdminHttpServer.start({ host: '127.0.0.1', port: 0, token: ' ', health: () => SNAPSHOT }),
        /empty/,
      );
    });

    it('rejects when the port is taken', async () => {
      const first = await start();
      try {
        await assert.rejects(
          AdminHttpServer.start({ host: '127.0.0.1', port: first.admin.port, health: () => SNAPSHOT }),
          /EADDRINUSE/,
        );
      } finally {
        await first.admin.close();
      }
    });
  });

  describe('routing', () => {
    let server: { admin: AdminHttpServer; url: string };
    before(async () => {
      server = await start({
        metrics: { contentType: 'text/plain; version=0.0.4; charset=utf-8', text: async () => 'up 1\n' },
      });
    });
    after(() => server.admin.close());

    it('answers 404 for unknown paths, including recording control when it is not enabled', async () => {
      assert.equal((await request(`${server.url}/`)).status, 404);
      assert.equal((await request(`${server.url}/healthz/extra`)).status, 404);
      assert.equal((await request(`${server.url}/calls/abc/recording/pause`, { method: 'POST' })).status, 404);
    });

    it('answers 405 with Allow for a known path and another method', async () => {
      const response = await request(`${server.url}/metrics`, { method: 'POST' });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'GET');
    });

    it('answers 400 to a request target that is no URL and keeps serving', async () => {
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(server.admin.port, '127.0.0.1', () =>
          socket.end('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        );
        let data = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
        socket.on('end', () => resolve(data)).on('error', reject);
      });
      assert.match(raw, /^HTTP\/1\.1 400 /);
      assert.equal((await request(`${server.url}/healthz`)).status, 200);
    });

    it('serves /metrics as Prometheus text and ignores a query string', async () => {
      const response = await request(`${server.url}/metrics?x=1`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.equal(response.text, 'up 1\n');
      assert.equal(response.headers.get('cache-control'), 'no-store');
    });
  });

  describe('/healthz', () => {
    it('answers 200 with the counts and every check when all hold', async () => {
      const { admin, url } = await start({
        checks: { database: () => ({ ok: true, latencyMs: 1 }), spool: async () => ({ ok: true, freeBytes: 5 }) },
      });
      try {
        const response = await request(`${url}/healthz`);
        assert.equal(response.status, 200);
        const body = response.json();
        assert.equal(body['status'], 'ok');
        assert.equal(body['calls'], 1);
        assert.equal(body['transactions'], 3);
        assert.deepEqual(body['checks'], { database: { ok: true, latencyMs: 1 }, spool: { ok: true, freeBytes: 5 } });
        assert.equal(body['failing'], undefined);
      } finally {
        await admin.close();
      }
    });

    it('answers 503 naming the failing checks: a false verdict, a throw, a hang', async () => {
      const { admin, url } = await start({
        checks: {
          sip: () => ({ ok: true }),
          database: () => Promise.reject(new Error('SQLITE_BUSY: database is locked')),
          spool: () => ({ ok: false, detail: 'only 10 bytes free' }),
          uploads: () => new Promise(() => undefined),
        },
      });
      try {
        const started = Date.now();
        const response = await request(`${url}/healthz`);
        assert.ok(Date.now() - started < 4500, 'a hanging check times out');
        assert.equal(response.status, 503);
        const body = response.json();
        assert.equal(body['status'], 'failing');
        assert.deepEqual(body['failing'], ['database', 'spool', 'uploads']);
        const checks = body['checks'] as Record<string, { ok: boolean; detail?: string }>;
        assert.equal(checks['sip']?.ok, true);
        assert.match(checks['database']?.detail ?? '', /database is locked/);
        assert.match(checks['uploads']?.detail ?? '', /no answer within/);
        assert.equal(body['calls'], 1, 'the counts are there when failing too');
      } finally {
        await admin.close();
      }
    });
  });

  describe('recording control', () => {
    const audited: AdminAuditEntry[] = [];
    const controlled: Array<[string, string]> = [];
    let auditFails = false;
    let server: { admin: AdminHttpServer; url: string };
    const errors: unknown[] = [];
    before(async () => {
      server = await start({
        recordingControl: {
          control: (callId, action) => {
            controlled.push([callId, action]);
            if (callId === 'explodes') throw new Error('recorder gone');
            return callId === 'c0ffee-1' ? 'found' : 'not-found';
          },
          audit: async (entry) => {
            if (auditFails) throw new Error('audit log unavailable');
            audited.push(entry);
          },
        },
        onError: (error) => errors.push(error),
      });
    });
    after(() => server.admin.close());

    it('pauses and resumes a running recorded call, each audited with the remote address as actor', async () => {
      const paused = await request(`${server.url}/calls/c0ffee-1/recording/pause`, { method: 'POST' });
      assert.equal(paused.status, 200);
      assert.deepEqual(paused.json(), { call: 'c0ffee-1', recording: 'paused' });
      const resumed = await request(`${server.url}/calls/c0ffee-1/recording/resume`, { method: 'POST' });
      assert.deepEqual(resumed.json(), { call: 'c0ffee-1', recording: 'resumed' });
      assert.deepEqual(controlled.slice(-2), [
        ['c0ffee-1', 'pause'],
        ['c0ffee-1', 'resume'],
      ]);
      assert.deepEqual(audited.slice(-2), [
        { actor: 'http:127.0.0.1', action: 'recording.pause', subject: 'call:c0ffee-1', details: { result: 'found' } },
        { actor: 'http:127.0.0.1', action: 'recording.resume', subject: 'call:c0ffee-1', details: { result: 'found' } },
      ]);
    });

    it('answers 404 for an unknown call and audits the attempt', async () => {
      const response = await request(`${server.url}/calls/nope/recording/pause`, { method: 'POST' });
      assert.equal(response.status, 404);
      assert.deepEqual(audited.at(-1), {
        actor: 'http:127.0.0.1',
        action: 'recording.pause',
        subject: 'call:nope',
        details: { result: 'not-found' },
      });
    });

    it('decodes the call id and answers 405 for GET', async () => {
      await request(`${server.url}/calls/a%40b/recording/pause`, { method: 'POST' });
      assert.deepEqual(controlled.at(-1), ['a@b', 'pause']);
      assert.equal((await request(`${server.url}/calls/x/recording/pause`)).status, 405);
    });

    it('answers 500 when the control throws (audited as error) or the audit cannot be written', async () => {
      const exploded = await request(`${server.url}/calls/explodes/recording/resume`, { method: 'POST' });
      assert.equal(exploded.status, 500);
      assert.deepEqual(audited.at(-1)?.details, { result: 'error' });
      assert.ok(!exploded.text.includes('recorder gone'), 'internal errors are not shown to the client');
      auditFails = true;
      try {
        const unaudited = await request(`${server.url}/calls/c0ffee-1/recording/pause`, { method: 'POST' });
        assert.equal(unaudited.status, 500);
      } finally {
        auditFails = false;
      }
      assert.equal(errors.length, 2, 'both failures reach onError');
    });
  });

  describe('extra routes', () => {
    it('serves routes the composition root adds, with params and actor', async () => {
      const { admin, url } = await start({
        routes: [
          {
            method: 'GET',
            path: /\/echo\/([^/]+)/,
            handle: (req) => ({ status: 200, body: { param: req.params[0], actor: req.actor } }),
          },
        ],
      });
      try {
        const response = await request(`${url}/echo/hello%20world`);
        assert.deepEqual(response.json(), { param: 'hello world', actor: 'http:127.0.0.1' });
        assert.equal((await request(`${url}/echo/%E0%A4%A`)).status, 404, 'a malformed escape is no match');
      } finally {
        await admin.close();
      }
    });
  });
});
