/** A throttling TCP proxy for sip-tests: a slow link in front of a real server. */
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy whose client-to-server direction is limited to `bytesPerSecond` (a slow link). */
export interface ThrottledProxy {
  readonly port: number;
  /** Bytes per second towards the server; `Infinity` forwards at once. */
  bytesPerSecond: number;
  close(): Promise<void>;
}

export async function startThrottledProxy(host: string, port: number, bytesPerSecond: number): Promise<ThrottledProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const proxy: ThrottledProxy = { port: 0, bytesPerSecond, close: async () => undefined };
  const TICK_MS = 20;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host, port });
    sockets.add(client).add(upstream);
    const queue: Buffer[] = [];
    let queued = 0;
    const pump = (): void => {
      let budget = Number.isFinite(proxy.bytesPerSecond) ? (proxy.bytesPerSecond * TICK_MS) / 1000 : Infinity;
      while (queue.length > 0 && budget > 0) {
        const head = queue[0]!;
        const take = Math.min(head.length, budget);
        upstream.write(head.subarray(0, take));
        budget -= take;
        queued -= take;
        if (take === head.length) queue.shift();
        else queue[0] = head.subarray(take);
      }
      if (queued < 64 * 1024) client.resume();
      else client.pause();
    };
    const timer = setInterval(pump, TICK_MS);
    timers.add(timer);
    client.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      queued += chunk.length;
      pump();
    });
    upstream.pipe(client);
    const end = (): void => {
      clearInterval(timer);
      timers.delete(timer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return Object.assign(proxy, {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
