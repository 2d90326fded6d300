/**
 * UploadNotifier against a real SMTP server (smtp-server on loopback) and a local HTTP server.
 * Requirements (SPEC §6, issue 8): the first failed upload attempt is mailed at once; further
 * failures of the same target go out as one digest at most once per interval; one "recovered"
 * mail ends a cycle; mails carry no phone numbers unless `personalData`; SMTP or webhook trouble
 * is logged with NOTIFY_SEND and never thrown into the upload queue; "archived" logs a line and
 * posts `{event:"recording.archived", id, profile, targets, start}` with one retry.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  UploadNotifier,
  maskPersonalData,
  type NotifierEmailOptions,
  type UploadFailedEvent,
  type UploadNotifierOptions,
} from '../../../src/archive/notifier.js';
import { createLogger, maskNumber } from '../../../src/observability/index.js';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink.js';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const MINUTE = 60_000;
const NUMBER = '+4930123456201';

interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

class Harness {
  nowMs = T0;
  readonly lines: string[] = [];
  readonly logger = createLogger({ level: 'debug', destination: { write: (line: string) => this.lines.push(line) } });
  readonly notifiers: UploadNotifier[] = [];

  get logs(): LogLine[] {
    return this.lines.map((line) => JSON.parse(line) as LogLine);
  }

  advance(minutes: number): void {
    this.nowMs += minutes * MINUTE;
  }

  notifier(options: Partial<UploadNotifierOptions> = {}): UploadNotifier {
    const notifier = new UploadNotifier({ logger: this.logger, now: () => new Date(this.nowMs), ...options });
    this.notifiers.push(notifier);
    return notifier;
  }

  failure(overrides: Partial<UploadFailedEvent> = {}): UploadFailedEvent {
    return {
      recordingId: 'rec-0001',
      targetId: 'nas',
      error: { code: 'ARCHIVE_CONNECT', message: 'connect ECONNREFUSED 192.0.2.10:445' },
      attempts: 1,
      nextAttemptAt: new Date(this.nowMs + 5 * MINUTE),
      profileId: 'sales',
      notify: 'ops@example.com',
      start: new Date(T0 - 10 * MINUTE),
      ...overrides,
    };
  }
}

function emailOptions(sink: { host: string; port: number }, extra: Partial<NotifierEmailOptions> = {}) {
  return {
    smtp: { host: sink.host, port: sink.port, secure: false, timeoutMs: 2000 },
    from: 'callrec@example.com',
    digestMinutes: 30,
    ...extra,
  } satisfies NotifierEmailOptions;
}

describe('UploadNotifier mails', () => {
  let sink: SmtpSink;
  let h: Harness;

  beforeEach(async () => {
    sink = await startSmtpSink();
    h = new Harness();
  });

  afterEach(async () => {
    for (const notifier of h.notifiers) await notifier.close();
    await sink.stop();
  });

  it('mails the first failed attempt at once', async () => {
    const notifier = h.notifier({ email: emailOptions(sink) });
    await notifier.attemptFailed(h.failure());
    assert.equal(sink.messages.length, 1);
    const [mail] = sink.messages;
    assert.equal(mail!.from, 'callrec@example.com');
    assert.deepEqual(mail!.to, ['ops@example.com']);
    assert.equal(mail!.subject, '[callrec] Upload to archive target "nas" failed');
    assert.match(mail!.text, /Failed attempts: +1\n/);
    assert.match(mail!.text, /rec-0001/);
    assert.match(mail!.text, /callrec retries at 2024-05-01T10:05:00.000Z/);
    assert.equal(notifier.counters.mailsSent, 1);
  });

  it('holds 5 further failures until the digest time, then sends one digest with counts and the last error', async () => {
    const notifier = h.notifier({ email: emailOptions(sink) });
    await notifier.attemptFailed(h.failure());
    for (let i = 1; i <= 5; i += 1) {
      h.advance(5);
      await notifier.attemptFailed(
        h.failure({
          recordingId: `rec-000${1 + (i % 2)}`,
          start: new Date(T0 - (20 - i) * MINUTE),
          attempts: i + 1,
          error: { code: 'ARCHIVE_IO', message: `upload of ${NUMBER} failed (try ${i})` },
          nextAttemptAt: new Date(h.nowMs + 10 * MINUTE),
        }),
      );
    }
    await notifier.flushDue(); // 25 minutes after the first mail: not due yet
    assert.equal(sink.messages.length, 1);

    h.advance(5);
    await notifier.flushDue();
    assert.equal(sink.messages.length, 2);
    const digest = sink.messages[1]!;
    assert.equal(digest.subject, '[callrec] Upload to archive target "nas" still failing (6 failed attempts)');
    assert.match(digest.text, /Failed attempts: +6 \(5 since the last message\)/);
    assert.match(digest.text, /Recordings waiting: +2/);
    assert.match(digest.text, /Oldest failing recording: rec-0002, started 2024-05-01T09:41:00.000Z/);
    assert.match(digest.text, /Last error: +ARCHIVE_IO: upload of .* failed \(try 5\)/);
    assert.match(digest.text, /callrec retries at 2024-05-01T10:35:00.000Z/);
    assert.ok(!digest.text.includes(NUMBER), 'the phone number is masked');
    assert.ok(!digest.text.includes('30123456'), 'no long digit run of the number remains');
    assert.ok(digest.text.includes(maskNumber(NUMBER)!), 'masked as the logger masks numbers');

    h.advance(60);
    await notifier.flushDue();
    assert.equal(sink.messages.length, 2, 'nothing new, nothing sent');
  });

  it('keeps phone numbers when personalData is configured', async () => {
    const notifier = h.notifier({ email: emailOptions(sink, { personalData: true }) });
    await notifier.attemptFailed(h.failure({ error: { code: 'ARCHIVE_IO', message: `upload of ${NUMBER} failed` } }));
    assert.match(sink.messages[0]!.text, /upload of \+4930123456201 failed/);
  });

  it('sends one "recovered" mail, then starts a new cycle', async () => {
    const notifier = h.notifier({ email: emailOptions(sink) });
    await notifier.attemptFailed(h.failure());
    h.advance(5);
    await notifier.attemptFailed(h.failure({ attempts: 2 }));
    h.advance(1);
    await notifier.recovered({ targetId: 'nas', profileId: 'sales', notify: 'ops@example.com' });
    await notifier.recovered({ targetId: 'nas', profileId: 'sales', notify: 'ops@example.com' });
    assert.equal(sink.messages.length, 2);
    const recovered = sink.messages[1]!;
    assert.equal(recovered.subject, '[callrec] Archive target "nas" recovered');
    assert.match(recovered.text, /succeed again since 2024-05-01T10:06:00.000Z/);
    assert.match(recovered.text, /Failed attempts: +2/);

    h.advance(60);
    await notifier.flushDue();
    assert.equal(sink.messages.length, 2, 'the pending digest went away with the cycle');

    await notifier.attemptFailed(h.failure());
    assert.equal(sink.messages.length, 3);
    assert.equal(sink.messages[2]!.subject, '[callrec] Upload to archive target "nas" failed');
  });

  it('orders mails when recovery and failures overlap a send in flight', async () => {
    const notifier = h.notifier({ email: emailOptions(sink) });
    const first = notifier.attemptFailed(h.failure());
    const recovered = notifier.recovered({ targetId: 'nas' }); // while the failure mail is in flight
    await Promise.all([first, recovered]);
    await sink.waitForMessages(2);
    assert.deepEqual(
      sink.messages.map((m) => m.subject),
      ['[callrec] Upload to archive target "nas" failed', '[callrec] Archive target "nas" recovered'],
    );

    await notifier.attemptFailed(h.failure());
    const again = notifier.recovered({ targetId: 'nas' });
    const refail = notifier.attemptFailed(h.failure({ attempts: 2 })); // while "recovered" is in flight
    await Promise.all([again, refail]);
    await sink.waitForMessages(5);
    assert.deepEqual(
      sink.messages.slice(2).map((m) => m.subject),
      [
        '[callrec] Upload to archive target "nas" failed',
        '[callrec] Archive target "nas" recovered',
        '[callrec] Upload to archive target "nas" failed',
      ],
      'the failure after the recovery opens a new cycle',
    );
  });

  it('keeps separate cycles per notify address and target', async () => {
    const notifier = h.notifier({ email: emailOptions(sink) });
    await notifier.attemptFailed(h.failure());
    await notifier.attemptFailed(h.failure({ targetId: 'sftp-backup' }));
    await notifier.attemptFailed(h.failure({ notify: 'boss@example.com' }));
    await notifier.attemptFailed(h.failure({ notify: undefined }));
    assert.deepEqual(
      sink.messages.map((m) => [m.to[0], m.subject]),
      [
        ['ops@example.com', '[callrec] Upload to archive target "nas" failed'],
        ['ops@example.com', '[callrec] Upload to archive target "sftp-backup" failed'],
        ['boss@example.com', '[callrec] Upload to archive target "nas" failed'],
      ],
    );
  });

  it('close() sends the digests that are due', async () => {
    const notifier = h.notifier({ email: emailOptions(sink) });
    await notifier.attemptFailed(h.failure());
    await notifier.attemptFailed(h.failure({ attempts: 2 }));
    h.advance(31);
    await notifier.close();
    assert.equal(sink.messages.length, 2);
    await notifier.attemptFailed(h.failure({ attempts: 3 }));
    assert.equal(sink.messages.length, 2, 'a closed notifier ignores events');
  });
});

describe('UploadNotifier with the SMTP server down', () => {
  it('logs NOTIFY_SEND without throwing and retries with the next digest', async () => {
    const h = new Harness();
    const probe = await startSmtpSink();
    const port = probe.port;
    await probe.stop();
    const credentials = { username: 'callrec', password: 'smtp-secret-pw' };
    const smtp = { host: '127.0.0.1', port, secure: false, timeoutMs: 2000, ...credentials };
    const notifier = h.notifier({ email: { ...emailOptions(probe), smtp } });

    await notifier.attemptFailed(h.failure()); // resolves, never rejects
    await notifier.attemptFailed(h.failure({ attempts: 2 }));
    assert.equal(notifier.counters.mailsFailed, 1, 'the second failure waits for the digest');
    const warnings = h.logs.filter((l) => l.code === 'NOTIFY_SEND');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.level, 'warn');
    assert.equal(warnings[0]!.targetId, 'nas');
    assert.ok(!h.lines.join('').includes('smtp-secret-pw'), 'no secret in logs');

    const sink = await startSmtpSink({ port, credentials });
    try {
      h.advance(29);
      await notifier.flushDue();
      assert.equal(sink.messages.length, 0);
      h.advance(1);
      await notifier.flushDue();
      assert.equal(sink.messages.length, 1);
      const mail = sink.messages[0]!;
      assert.equal(mail.user, 'callrec');
      assert.equal(mail.subject, '[callrec] Upload to archive target "nas" failed', 'still the first news');
      assert.match(mail.text, /Failed attempts: +2\n/);
      assert.equal(notifier.counters.mailsSent, 1);
    } finally {
      await notifier.close();
      await sink.stop();
    }
  });
});

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
}

async function startHttp(statuses: number[]): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { method, url, headers } = req;
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method, url, contentType: headers['content-type'], authorization: headers.authorization, body });
      res.statusCode = statuses[Math.min(received.length, statuses.length) - 1] ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, received };
}

describe('UploadNotifier archived event', () => {
  const event = {
    recordingId: 'rec-0042',
    profileId: 'sales',
    targets: ['nas', 'sftp-backup'],
    start: new Date('2024-05-01T09:30:00.000Z'),
  };

  it('logs "recording archived" and posts the webhook JSON', async () => {
    const h = new Harness();
    const http = await startHttp([204]);
    try {
      const webhook = { url: `${http.url}/hooks/callrec?token=abc`, headers: { authorization: 'Bearer t0ken' } };
      const notifier = h.notifier({ webhook });
      await notifier.archived(event);
      assert.equal(http.received.length, 1);
      const [request] = http.received;
      assert.equal(request!.method, 'POST');
      assert.equal(request!.url, '/hooks/callrec?token=abc');
      assert.equal(request!.contentType, 'application/json');
      assert.equal(request!.authorization, 'Bearer t0ken');
      assert.deepEqual(JSON.parse(request!.body), {
        event: 'recording.archived',
        id: 'rec-0042',
        profile: 'sales',
        targets: ['nas', 'sftp-backup'],
        start: '2024-05-01T09:30:00.000Z',
      });
      assert.ok(h.lines.some((line) => line.includes('"msg":"recording archived"')));
      const line = h.logs.find((l) => l.msg === 'recording archived')!;
      assert.equal(line.level, 'info');
      assert.equal(line.recordingId, 'rec-0042');
      assert.equal(line.profile, 'sales');
      assert.deepEqual(line.targets, ['nas', 'sftp-backup']);
      assert.deepEqual(notifier.counters, {
        mailsSent: 0,
        mailsFailed: 0,
        webhooksSent: 1,
        webhooksFailed: 0,
        archived: 1,
      });
    } finally {
      http.server.close();
    }
  });

  it('retries a failed webhook once', async () => {
    const h = new Harness();
    const http = await startHttp([503, 200]);
    try {
      const notifier = h.notifier({ webhook: { url: http.url, retryDelayMs: 5 } });
      await notifier.archived(event);
      assert.equal(http.received.length, 2);
      assert.equal(notifier.counters.webhooksSent, 1);
      assert.equal(h.logs.filter((l) => l.code === 'NOTIFY_SEND').length, 0);
    } finally {
      http.server.close();
    }
  });

  it('logs a webhook that keeps failing, without throwing or leaking its path', async () => {
    const h = new Harness();
    const http = await startHttp([500]);
    try {
      const notifier = h.notifier({ webhook: { url: `${http.url}/secret-token-path`, retryDelayMs: 5 } });
      await notifier.archived(event);
      assert.equal(http.received.length, 2, 'one retry');
      const warning = h.logs.find((l) => l.code === 'NOTIFY_SEND')!;
      assert.equal(warning.level, 'warn');
      assert.equal(warning.recordingId, 'rec-0042');
      assert.equal(warning.webhook, http.url);
      assert.equal(warning.error, 'HTTP 500');
      assert.ok(!h.lines.join('').includes('secret-token-path'));
      assert.equal(notifier.counters.webhooksFailed, 1);
    } finally {
      http.server.close();
    }
  });

  it('survives an unreachable webhook within its timeout', async () => {
    const h = new Harness();
    const http = await startHttp([]);
    http.server.close();
    const notifier = h.notifier({ webhook: { url: http.url, timeoutMs: 500, retryDelayMs: 5 } });
    await notifier.archived(event);
    assert.equal(notifier.counters.webhooksFailed, 1);
    assert.match(String(h.logs.find((l) => l.code === 'NOTIFY_SEND')!.error), /ECONNREFUSED|connect/i);
  });
});

describe('maskPersonalData', () => {
  it('masks digit runs of five or more and SIP user parts', () => {
    assert.equal(maskPersonalData(`upload of ${NUMBER} failed`), `upload of ${maskNumber(NUMBER)} failed`);
    assert.equal(maskPersonalData('sip:alice@pbx.example.com'), `sip:${maskNumber('alice')}@pbx.example.com`);
    assert.equal(maskPersonalData('port 4451 timeout after 1234 ms'), 'port 4451 timeout after 1234 ms');
  });
});
