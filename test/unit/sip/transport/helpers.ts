import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import type { InboundData, TransportHandlers } from '../../../../src/sip/transport/index.js';

/** A SIP message with a correct Content-Length. */
export function sipMessage(startLine: string, callId: string, body = ''): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  return Buffer.from(
    [
      startLine,
      'Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK' + callId,
      'From: <sip:a@example.com>;tag=1',
      'To: <sip:b@example.com>',
      `Call-ID: ${callId}`,
      'CSeq: 1 OPTIONS',
      `Content-Length: ${bytes.length}`,
      '',
      '',
    ].join('\r\n') + body,
    'utf8',
  );
}

/** Handlers that record what arrives and let a test await the n-th message. */
export class Inbox {
  readonly received: InboundData[] = [];
  readonly errors: Error[] = [];
  readonly #waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly handlers: TransportHandlers = {
    onData: (inbound) => {
      this.received.push(inbound);
      this.#wake();
    },
    onError: (error) => {
      this.errors.push(error);
      this.#wake();
    },
  };

  /** Resolves once `count` messages have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs = 5000): Promise<InboundData[]> {
    if (this.received.length >= count) return Promise.resolve(this.received);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${count} messages (got ${this.received.length})`)),
        timeoutMs,
      );
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.received);
        },
      });
    });
  }

  #wake(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i]!;
      if (this.received.length >= waiter.count) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }
}

/** Polls `predicate` every 10 ms until true; rejects after `timeoutMs`. For socket-state waits only. */
export async function waitUntil(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function unusedTcpPort(): Promise<number> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
