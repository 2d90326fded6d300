/** A relayed call between two loopback peers, for the RelaySession tests. */
import { PortAllocator } from '../../../../src/media/relay/port-allocator.js';
import type { LegName, RemoteMedia } from '../../../../src/media/relay/relay-leg.js';
import { RelaySession, type RelaySessionOptions } from '../../../../src/media/relay/relay-session.js';
import { TestPeer, freePortRange, rtpPacket } from './loopback.js';

export interface Peer {
  readonly rtp: TestPeer;
  readonly rtcp: TestPeer;
}

export interface Call {
  readonly allocator: PortAllocator;
  readonly session: RelaySession;
  readonly a: Peer;
  readonly b: Peer;
  readonly forks: { leg: LegName; sequence: number; arrivalMs: number }[];
  /** Resolves once the fork has seen `count` packets (the relay has handled them). */
  forked(count: number): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];

/** Registers something to close after the current test. */
export function closeAfterTest(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/** Closes sessions and sockets opened by the test, newest first; call from afterEach. */
export async function closeTestResources(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export async function openPeer(address = '127.0.0.1'): Promise<Peer> {
  const peer = { rtp: await TestPeer.open(address), rtcp: await TestPeer.open(address) };
  cleanups.push(
    () => peer.rtp.close(),
    () => peer.rtcp.close(),
  );
  return peer;
}

export async function openSocket(address = '127.0.0.1'): Promise<TestPeer> {
  const socket = await TestPeer.open(address);
  cleanups.push(() => socket.close());
  return socket;
}

export function remoteOf(peer: Peer, direction: RemoteMedia['direction'] = 'sendrecv'): RemoteMedia {
  return { address: peer.rtp.address, rtpPort: peer.rtp.port, rtcpPort: peer.rtcp.port, direction };
}

export async function openCall(options: RelaySessionOptions = {}, host = '127.0.0.1'): Promise<Call> {
  const allocator = new PortAllocator({ host, portRange: await freePortRange(8, host) });
  const forks: Call['forks'] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  const session = await RelaySession.open(allocator, {
    onRtp: (leg, datagram, arrivalMs) => {
      forks.push({ leg, sequence: datagram.readUInt16BE(2), arrivalMs });
      for (const waiter of waiters) if (forks.length >= waiter.count) waiter.resolve();
      waiters = waiters.filter((waiter) => forks.length < waiter.count);
    },
    ...options,
  });
  const forked = (count: number): Promise<void> =>
    forks.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
  cleanups.push(() => session.close());
  const a = await openPeer();
  const b = await openPeer();
  session.leg('a').setRemote(remoteOf(a));
  session.leg('b').setRemote(remoteOf(b));
  return { allocator, session, a, b, forks, forked };
}

/** Sends RTP from `from` into `leg` of the session. */
export function sendRtp(call: Call, from: TestPeer, leg: LegName, sequence: number): Promise<void> {
  return from.send(rtpPacket(sequence), call.session.leg(leg).localRtpPort);
}

export async function nextSequence(peer: TestPeer): Promise<number> {
  return (await peer.next()).data.readUInt16BE(2);
}
