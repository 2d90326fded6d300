/** Real UDP sockets on loopback for relay tests: free port ranges and peers that record what they get. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/** Binds a socket; rejects with the bind error (EADDRINUSE …). */
export function bindSocket(port: number, address = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
  });
}

export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/**
 * An even first port of `count` consecutive ports that are all free right now on `address`
 * (probed by binding them), at 40000 + random so parallel test files rarely meet.
 */
export async function freePortRange(count: number, address = '127.0.0.1'): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const first = 40000 + 2 * Math.floor(Math.random() * 9000);
    const probes: Socket[] = [];
    try {
      for (let port = first; port < first + count; port += 1) probes.push(await bindSocket(port, address));
      return [first, first + count - 1];
    } catch {
      // one of them is taken: try another base
    } finally {
      await Promise.all(probes.map(closeSocket));
    }
  }
  throw new Error(`no ${count} free consecutive UDP ports found`);
}

export interface Received {
  readonly data: Buffer;
  readonly from: RemoteInfo;
}

/** A UDP endpoint that queues what it receives and can wait for the next datagram. */
export class TestPeer {
  readonly socket: Socket;
  readonly received: Received[] = [];
  #waiters: ((message: Received) => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, from) => {
      const message = { data, from };
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.received.push(message);
      else waiter(message);
    });
  }

  static async open(address = '127.0.0.1'): Promise<TestPeer> {
    return new TestPeer(await bindSocket(0, address));
  }

  get port(): number {
    return this.socket.address().port;
  }

  get address(): string {
    return this.socket.address().address;
  }

  send(data: Buffer, port: number, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(data, port, address, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** The next datagram (queued or future); rejects after `timeoutMs`. */
  next(timeoutMs = 1000): Promise<Received> {
    const queued = this.received.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no datagram on port ${this.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (message: Received): void => {
        clearTimeout(timer);
        resolve(message);
      };
      this.#waiters.push(waiter);
    });
  }

  close(): Promise<void> {
    return closeSocket(this.socket);
  }
}

/** A 12-byte RTP header (RFC 3550 §5.1, PT 0) plus `payloadBytes` bytes of `fill`. */
export function rtpPacket(sequence: number, payloadBytes = 160, fill = 0xff): Buffer {
  const packet = Buffer.alloc(12 + payloadBytes, fill);
  packet[0] = 0x80;
  packet[1] = 0;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(sequence * 160, 4);
  packet.writeUInt32BE(0x12345678, 8);
  return packet;
}

/** An RTCP receiver report without report blocks (RFC 3550 §6.4.2). */
export function rtcpPacket(ssrc = 0x12345678): Buffer {
  const packet = Buffer.alloc(8);
  packet[0] = 0x80;
  packet[1] = 201;
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc, 4);
  return packet;
}
