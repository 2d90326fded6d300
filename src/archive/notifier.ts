import { setTimeout as delay } from 'node:timers/promises';
import { createTransport, type Transporter } from 'nodemailer';
import { request } from 'undici';
import type { Logger } from '../observability/index.js';
import { maskPersonalData } from './mask-personal-data.js';

export { maskPersonalData } from './mask-personal-data.js';

/** An upload attempt of one recording to one target failed (the queue keeps it for a retry). */
export interface UploadFailedEvent {
  readonly recordingId: string;
  readonly targetId: string;
  readonly error: { readonly code: string; readonly message: string };
  /** Failed attempts of this recording on this target so far. */
  readonly attempts: number;
  /** When the queue tries again; `undefined` when it gave up (`callrec uploads retry`). */
  readonly nextAttemptAt: Date | undefined;
  readonly profileId: string;
  /** The profile's notify address; without one nothing is mailed. */
  readonly notify: string | undefined;
  /** The recording's start; the failure time stands in when omitted. */
  readonly start?: Date;
}

/** A target that had failed accepted an upload again. */
export interface UploadRecoveredEvent {
  readonly targetId: string;
  readonly profileId?: string;
  /** The address to tell; every address alarmed about the target when omitted. */
  readonly notify?: string;
}

/** Every target of the recording's profile confirmed it. */
export interface RecordingArchivedEvent {
  readonly recordingId: string;
  readonly profileId: string;
  readonly targets: readonly string[];
  readonly start: Date;
}

/** SMTP server for notification mails (nodemailer). */
export interface NotifierSmtpOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS; when false STARTTLS is used if offered. */
  readonly secure: boolean;
  readonly username?: string;
  readonly password?: string;
  /** Connect, greeting and socket timeout. @default 15000 */
  readonly timeoutMs?: number;
}

export interface NotifierEmailOptions {
  readonly smtp: NotifierSmtpOptions;
  readonly from: string;
  /** Phone numbers and SIP user parts appear unmasked in mails. @default false */
  readonly personalData?: boolean;
  /** After a mail about a target, further failures wait this long and go out as one digest. @default 60 */
  readonly digestMinutes?: number;
  /** @default '[callrec]' */
  readonly subjectPrefix?: string;
}

export interface NotifierWebhookOptions {
  /** Receives `POST {event:"recording.archived", id, profile, targets, start}` as JSON. */
  readonly url: string;
  /** Extra request headers (e.g. authorization); never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Per attempt. @default 5000 */
  readonly timeoutMs?: number;
  /** Pause before the one retry. @default 1000 */
  readonly retryDelayMs?: number;
}

export interface UploadNotifierOptions {
  readonly logger: Logger;
  /** Without it no mail is sent. */
  readonly email?: NotifierEmailOptions;
  readonly webhook?: NotifierWebhookOptions;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Plain counters until prom-client arrives with issue 9 (then these become metrics). */
export interface NotifierCounters {
  mailsSent: number;
  mailsFailed: number;
  webhooksSent: number;
  webhooksFailed: number;
  archived: number;
}

type MailKind = 'failure' | 'digest' | 'recovered';

/** What one notify address knows about one failing target during one failure cycle. */
class TargetAlarm {
  readonly profiles = new Set<string>();
  readonly failing = new Map<string, number>(); // failing recording id -> its start (ms)
  attempts = 0;
  /** Failed attempts no delivered mail has reported yet. */
  unreported = 0;
  lastError = { code: '', message: '' };
  nextAttemptAt: Date | undefined;
  mailed = false; // a failure mail of this cycle was delivered
  recoveredAt: number | undefined; // set while a "recovered" mail is owed
  /** Failures that arrived while the "recovered" mail was in flight. */
  readonly afterRecovery: UploadFailedEvent[] = [];
  lastSendAt: number | undefined;
  dueAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  sending = false;

  constructor(
    readonly key: string,
    readonly address: string,
    readonly targetId: string,
    readonly since: number,
  ) {}
}

const MAX_LISTED_RECORDINGS = 20;

/**
 * Tells people about archive uploads (SPEC §6): failure mails per notify address and target — the
 * first at once, later ones as a digest at most once per `digestMinutes`, one "recovered" mail
 * ending the cycle — plus the "recording archived" log line and optional webhook. Never throws
 * into the upload queue: failed sends are logged (`NOTIFY_SEND`) and retried with the next digest.
 */
export class UploadNotifier {
  readonly #logger: Logger;
  readonly #email: NotifierEmailOptions | undefined;
  readonly #webhook: NotifierWebhookOptions | undefined;
  readonly #now: () => Date;
  readonly #transport: Transporter | undefined;
  readonly #intervalMs: number;
  readonly #alarms = new Map<string, TargetAlarm>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #count: NotifierCounters = { mailsSent: 0, mailsFailed: 0, webhooksSent: 0, webhooksFailed: 0, archived: 0 };
  #closed = false;

  constructor(options: UploadNotifierOptions) {
    this.#logger = options.logger;
    this.#email = options.email;
    this.#webhook = options.webhook;
    this.#now = options.now ?? (() => new Date());
    this.#intervalMs = (options.email?.digestMinutes ?? 60) * 60_000;
    const smtp = options.email?.smtp;
    if (smtp !== undefined) {
      const timeout = smtp.timeoutMs ?? 15_000;
      this.#transport = createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        auth: smtp.username === undefined ? undefined : { user: smtp.username, pass: smtp.password ?? '' },
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        disableFileAccess: true,
        disableUrlAccess: true,
      });
    }
  }

  /** Counters since start (copy). */
  get counters(): Readonly<NotifierCounters> {
    return { ...this.#count };
  }

  /** Records a failed attempt; mails at once if it opens a cycle. Resolves when that mail was tried. */
  attemptFailed(event: UploadFailedEvent): Promise<void> {
    if (this.#closed || this.#transport === undefined || event.notify === undefined) return Promise.resolve();
    const key = `${event.notify}\u0000${event.targetId}`;
    let alarm = this.#alarms.get(key);
    if (alarm === undefined) {
      alarm = new TargetAlarm(key, event.notify, event.targetId, this.#now().getTime());
      this.#alarms.set(key, alarm);
    }
    if (alarm.recoveredAt !== undefined && alarm.sending) {
      alarm.afterRecovery.push(event); // decided when the "recovered" mail was (not) delivered
      return Promise.resolve();
    }
    alarm.recoveredAt = undefined; // an undelivered "recovered" mail is stale now
    this.#record(alarm, event);
    if (alarm.sending) return Promise.resolve();
    const dueAt = (alarm.lastSendAt ?? -Infinity) + this.#intervalMs; // the first failure goes at once
    if (dueAt <= this.#now().getTime()) return this.#send(alarm);
    this.#schedule(alarm, dueAt);
    return Promise.resolve();
  }

  /** A target works again: one "recovered" mail per alarmed address, then the cycle resets. */
  recovered(event: UploadRecoveredEvent): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const sends: Promise<void>[] = [];
    for (const alarm of this.#alarms.values()) {
      if (alarm.targetId !== event.targetId || alarm.recoveredAt !== undefined) continue;
      if (event.notify !== undefined && alarm.address !== event.notify) continue;
      alarm.recoveredAt = this.#now().getTime();
      if (!alarm.sending) sends.push(this.#send(alarm));
    }
    return Promise.all(sends).then(() => undefined);
  }

  /** Logs "recording archived", counts it and posts the webhook if configured. Never rejects. */
  archived(event: RecordingArchivedEvent): Promise<void> {
    this.#count.archived += 1;
    const { recordingId, profileId: profile, targets } = event;
    this.#logger.info({ recordingId, profile, targets }, 'recording archived');
    for (const alarm of this.#alarms.values()) {
      if (targets.includes(alarm.targetId)) alarm.failing.delete(recordingId);
    }
    if (this.#closed || this.#webhook === undefined) return Promise.resolve();
    return this.#track(this.#postWebhook(this.#webhook, event));
  }

  /** Sends every digest, retry and "recovered" mail whose time has come (by the injected clock). */
  flushDue(): Promise<void> {
    const now = this.#now().getTime();
    const sends: Promise<void>[] = [];
    for (const alarm of this.#alarms.values()) {
      if (!alarm.sending && alarm.dueAt !== undefined && alarm.dueAt <= now) sends.push(this.#send(alarm));
    }
    return Promise.all(sends).then(() => undefined);
  }

  /** Cancels timers, waits for sends in flight, sends what is due, closes SMTP. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const alarm of this.#alarms.values()) clearTimeout(alarm.timer);
    await Promise.allSettled([...this.#inflight]);
    await this.flushDue(); // schedules no timers once closed
    this.#transport?.close();
  }

  #record(alarm: TargetAlarm, event: UploadFailedEvent): void {
    alarm.profiles.add(event.profileId);
    const start = event.start?.getTime() ?? this.#now().getTime();
    if (!alarm.failing.has(event.recordingId)) alarm.failing.set(event.recordingId, start);
    alarm.attempts += 1;
    alarm.unreported += 1;
    alarm.lastError = { code: event.error.code, message: event.error.message };
    alarm.nextAttemptAt = event.nextAttemptAt;
  }

  #schedule(alarm: TargetAlarm, dueAt: number): void {
    alarm.dueAt = dueAt;
    if (this.#closed) return;
    clearTimeout(alarm.timer);
    alarm.timer = setTimeout(() => void this.flushDue(), Math.max(0, dueAt - this.#now().getTime()));
    alarm.timer.unref();
  }

  #send(alarm: TargetAlarm): Promise<void> {
    return this.#track(this.#deliver(alarm));
  }

  async #deliver(alarm: TargetAlarm): Promise<void> {
    const [email, transport] = [this.#email, this.#transport];
    if (email === undefined || transport === undefined) return;
    const kind: MailKind = alarm.recoveredAt !== undefined ? 'recovered' : alarm.mailed ? 'digest' : 'failure';
    if (kind !== 'recovered' && alarm.unreported === 0) {
      alarm.dueAt = undefined;
      return;
    }
    const reported = alarm.unreported;
    alarm.sending = true;
    alarm.lastSendAt = this.#now().getTime();
    alarm.dueAt = undefined;
    clearTimeout(alarm.timer);
    const mail = { from: email.from, to: alarm.address, ...this.#compose(alarm, kind, email) };
    let delivered = false;
    try {
      await transport.sendMail(mail);
      delivered = true;
      this.#count.mailsSent += 1;
      this.#logger.info({ kind, targetId: alarm.targetId, to: alarm.address }, 'upload notification mailed');
    } catch (error) {
      this.#count.mailsFailed += 1;
      this.#logger.warn(
        { code: 'NOTIFY_SEND', kind, targetId: alarm.targetId, to: alarm.address, error: errorMessage(error) },
        'notification mail not sent; retrying with the next digest',
      );
    }
    alarm.sending = false;
    if (delivered && kind === 'recovered') {
      this.#endCycle(alarm);
      return;
    }
    if (delivered) {
      alarm.mailed = true;
      alarm.unreported -= reported;
    }
    for (const event of alarm.afterRecovery.splice(0)) {
      alarm.recoveredAt = undefined;
      this.#record(alarm, event);
    }
    if (alarm.recoveredAt !== undefined && delivered) {
      await this.#send(alarm); // the target recovered while a failure mail was in flight
    } else if (alarm.recoveredAt !== undefined || alarm.unreported > 0) {
      this.#schedule(alarm, alarm.lastSendAt + this.#intervalMs);
    }
  }

  #endCycle(alarm: TargetAlarm): void {
    clearTimeout(alarm.timer);
    this.#alarms.delete(alarm.key);
    // Failures during the "recovered" mail open a new cycle (its first failure goes at once).
    for (const event of alarm.afterRecovery.splice(0)) void this.attemptFailed(event);
  }

  #compose(alarm: TargetAlarm, kind: MailKind, email: NotifierEmailOptions): { subject: string; text: string } {
    const clean = (text: string): string => (email.personalData === true ? text : maskPersonalData(text));
    const [target, ids] = [`archive target "${alarm.targetId}"`, [...alarm.failing.keys()]];
    const oldest = [...alarm.failing.entries()].sort((a, b) => a[1] - b[1])[0];
    const since = kind === 'digest' ? ` (${alarm.unreported} since the last message)` : '';
    // A recovery mail lists no waiting recordings: they are being delivered right now.
    const rows: [string, string][] = [
      ['Target', alarm.targetId],
      ['Profiles', [...alarm.profiles].join(', ')],
      ['Failing since', iso(alarm.since)],
      ['Failed attempts', `${alarm.attempts}${since}`],
      ...(kind === 'recovered' ? [] : waitingRows(ids.length, oldest)),
      ['Last error', clean(`${alarm.lastError.code}: ${alarm.lastError.message}`)],
    ];
    let subject = `Upload to ${target} failed`;
    let lines = [`callrec could not upload recordings to ${target}.`];
    if (kind === 'recovered') {
      subject = `${target.charAt(0).toUpperCase()}${target.slice(1)} recovered`;
      lines = [`Uploads to ${target} succeed again since ${iso(alarm.recoveredAt ?? alarm.since)}.`];
      rows.push(['Next', 'waiting recordings are uploaded with the next queue run; nothing to do.']);
    } else {
      if (kind === 'digest') subject = `Upload to ${target} still failing (${alarm.attempts} failed attempts)`;
      const retry = alarm.nextAttemptAt?.toISOString();
      const manual = 'callrec does not retry on its own; fix the cause, then run `callrec uploads retry`.';
      rows.push(['Next', retry === undefined ? manual : `callrec retries at ${retry}; the files stay in the spool.`]);
      const more = ids.length > MAX_LISTED_RECORDINGS ? ` (+${ids.length - MAX_LISTED_RECORDINGS} more)` : '';
      rows.push(['Recording ids', ids.slice(0, MAX_LISTED_RECORDINGS).join(', ') + more]);
      lines.push(`\nMore failures are collected into one message at most every ${this.#intervalMs / 60_000} minutes.`);
    }
    const table = rows.map(([label, value]) => `${`${label}:`.padEnd(26)}${value}`);
    const text = [lines[0], '', ...table, ...lines.slice(1), '`callrec uploads status` shows every target.', ''];
    return { subject: `${email.subjectPrefix ?? '[callrec]'} ${subject}`, text: text.join('\n') };
  }

  async #postWebhook(webhook: NotifierWebhookOptions, event: RecordingArchivedEvent): Promise<void> {
    const { recordingId: id, profileId: profile, targets, start } = event;
    const body = JSON.stringify({ event: 'recording.archived', id, profile, targets, start: start.toISOString() });
    const timeout = webhook.timeoutMs ?? 5000;
    let failure = '';
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      try {
        const response = await request(webhook.url, {
          method: 'POST',
          headers: { ...webhook.headers, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(timeout),
        });
        await response.body.dump();
        if (response.statusCode >= 200 && response.statusCode < 300) {
          this.#count.webhooksSent += 1;
          return;
        }
        failure = `HTTP ${response.statusCode}`;
      } catch (error) {
        failure = errorMessage(error);
      }
      if (attempt === 1) await delay(webhook.retryDelayMs ?? 1000);
    }
    this.#count.webhooksFailed += 1;
    this.#logger.warn(
      { code: 'NOTIFY_SEND', recordingId: event.recordingId, webhook: safeOrigin(webhook.url), error: failure },
      'archived webhook failed after one retry',
    );
  }

  #track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error: unknown) => {
      this.#logger.error({ code: 'NOTIFY_SEND', error: errorMessage(error) }, 'notifier failure');
    });
    this.#inflight.add(tracked);
    void tracked.finally(() => this.#inflight.delete(tracked));
    return tracked;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/** No path, query or credentials of a webhook URL in logs. */
const safeOrigin = (url: string): string => (URL.canParse(url) ? new URL(url).origin : '(invalid url)');

function waitingRows(waiting: number, oldest: [string, number] | undefined): [string, string][] {
  const first = oldest === undefined ? '-' : `${oldest[0]}, started ${iso(oldest[1])}`;
  return [
    ['Recordings waiting', `${waiting}`],
    ['Oldest failing recording', first],
  ];
}
