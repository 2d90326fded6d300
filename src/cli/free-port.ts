import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

function tcpFree(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/**
 * A port free for both UDP and TCP on `host`: `preferred` when it is, else one the OS picks.
 * (Another program may take it before we bind; callers bind right away.)
 */
export async function findFreePort(host: string, preferred?: number): Promise<number> {
  if (preferred !== undefined && (await tcpFree(host, preferred)) === preferred && (await udpFree(host, preferred))) {
    return preferred;
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tcpFree(host, 0);
    if (port !== undefined && (await udpFree(host, port))) return port;
  }
  throw new Error(`no free UDP+TCP port on ${host}`);
}
