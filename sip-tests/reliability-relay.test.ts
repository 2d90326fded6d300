/**
 * No open relay (SPEC §1 peers, issue "Reliability" security), through the real callrec and real
 * SIPp. A UDP socket and a TCP listener on a third loopback address (127.0.0.4) stand for the
 * toll-fraud destination and must receive nothing:
 *  - from a peer (trunk or PBX), a call whose Request-URI and To name the third address and whose
 *    Route set lists callrec and then the third address (also on the ACK and BYE) goes only to the
 *    configured far side (pbx.uri / trunk.uri), with no Route toward the third address;
 *  - from a non-peer (127.0.0.2), an INVITE aimed at the PBX through a crafted Route gets 403 and
 *    neither the PBX nor the third address sees anything.
 * (A plain INVITE/OPTIONS from a non-peer getting 403 is in b2bua-failures and options.)
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  assertCallSucceeded,
  explainCall,
  PBX_IP,
  reservePort,
  startTestbed,
  TRUNK_IP,
  type Direction,
  type Testbed,
} from './support/b2bua.js';
import { runSipp } from './support/sipp.js';

const THIRD_PARTY_IP = '127.0.0.4';
const NON_PEER_IP = '127.0.0.2';
const UNRECORDED: Record<Direction, string> = { inbound: '+4930123456204', outbound: '004940111222' };

/** A UDP socket and a TCP listener on one address and port that count what reaches them. */
interface Trap {
  readonly port: number;
  readonly datagrams: Buffer[];
  readonly connections: number;
  close(): Promise<void>;
}

async function startTrap(address: string): Promise<Trap> {
  const port = await reservePort(address);
  const datagrams: Buffer[] = [];
  const udp = createSocket('udp4');
  udp.on('message', (data) => datagrams.push(data));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, () => resolve());
  });
  let connections = 0;
  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, address, () => resolve());
  });
  return {
    port,
    datagrams,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

describe('no open relay: crafted Request-URI and Route headers', { concurrency: false }, () => {
  let bed: Testbed;
  let trap: Trap;

  before(async () => {
    bed = await startTestbed();
    trap = await startTrap(THIRD_PARTY_IP);
  });
  after(async () => {
    await trap?.close();
    await bed?.stop();
  });

  for (const direction of ['inbound', 'outbound'] as const) {
    it(`${direction}: a peer's call aimed at a third address goes only to the configured far side`, async () => {
      const run = await bed.call({
        direction,
        uac: 'uac-call-crafted-route-hangup-expect-200.xml',
        uas: 'uas-answer-await-bye.xml',
        service: UNRECORDED[direction],
        keys: { third_host: THIRD_PARTY_IP, third_port: String(trap.port) },
      });
      assertCallSucceeded(run);
      const sent = run.uac.messages.find((m) => m.direction === 'sent' && m.method === 'INVITE');
      assert.ok(sent !== undefined && sent.startLine.includes(`@${THIRD_PARTY_IP}:${trap.port}`), 'crafted R-URI sent');
      assert.ok(
        sent.headers('Route').some((route) => route.includes(THIRD_PARTY_IP)),
        'the crafted Route was sent',
      );
      const invite = run.uas.messages.find((m) => m.direction === 'received' && m.method === 'INVITE');
      assert.ok(invite !== undefined, explainCall(run));
      const farSide = direction === 'inbound' ? `${PBX_IP}:${bed.pbxPort}` : `${TRUNK_IP}:${bed.trunkPort}`;
      assert.ok(invite.startLine.includes(`@${farSide}`), `INVITE to the far side: ${invite.startLine}`);
      const leaked = run.uas.messages.filter((m) => m.direction === 'received' && m.text.includes(THIRD_PARTY_IP));
      assert.deepEqual(
        leaked.map((m) => m.startLine),
        [],
        'no Route, Request-URI or To toward the third address reaches the far side',
      );
      assert.deepEqual(
        run.uas.messages.filter((m) => m.direction === 'received').map((m) => m.method ?? m.status),
        ['INVITE', 'ACK', 'BYE'],
      );
      // Give a wrongly relayed request time to arrive
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(trap.datagrams.length, 0, 'nothing sent to the third address over UDP');
      assert.equal(trap.connections, 0, 'no TCP connection to the third address');
    });
  }

  it('refuses a non-peer whose INVITE is routed at the PBX with 403; nothing reaches the PBX or elsewhere', async () => {
    const uas = await bed.startUas('inbound', 'uas-answer-await-bye.xml', undefined, 15);
    try {
      const run = await runSipp({
        scenario: 'uac-invite-crafted-route-expect-403.xml',
        port: bed.callrec.port,
        localIp: NON_PEER_IP,
        localPort: await reservePort(NON_PEER_IP),
        service: UNRECORDED.inbound,
        keys: { target_host: PBX_IP, target_port: String(bed.pbxPort) },
        timeoutSeconds: 10,
        traceMessages: true,
      });
      assert.equal(run.code, 0, `the non-peer gets 403: ${run.errors}`);
      await new Promise((r) => setTimeout(r, 300));
      uas.kill();
      const seen = await uas.done;
      assert.equal(seen.messages.length, 0, 'the PBX saw nothing');
      assert.equal(trap.datagrams.length, 0);
      assert.equal(trap.connections, 0);
    } finally {
      uas.kill();
    }
  });
});
