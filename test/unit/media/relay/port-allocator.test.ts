/**
 * PortAllocator (SPEC §2 media anchoring, MediaConfig.portRange) over real loopback sockets:
 * - RTP on an even port, RTCP on the next odd one (RFC 3550 §11), inside the configured range;
 * - a port another program holds (EADDRINUSE) makes the allocator skip that pair;
 * - round-robin: a released pair is not handed out again while others are free;
 * - MEDIA_PORTS_EXHAUSTED (retriable) when no pair is free; counts of use and capacity.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import { PortAllocator, type PortPair } from '../../../../src/media/relay/port-allocator.js';
import { bindSocket, closeSocket, freePortRange } from './loopback.js';

function releaseAll(allocator: PortAllocator, pairs: PortPair[]): void {
  for (const pair of pairs) allocator.release(pair);
}

describe('PortAllocator', () => {
  it('hands out bound even RTP / odd RTCP pairs inside the range', async () => {
    const range = await freePortRange(6);
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: range });
    assert.equal(allocator.capacity, 3);
    const pairs = [await allocator.allocate(), await allocator.allocate(), await allocator.allocate()];
    try {
      assert.deepEqual(
        pairs.map((p) => [p.rtpPort, p.rtcpPort]),
        [
          [range[0], range[0] + 1],
          [range[0] + 2, range[0] + 3],
          [range[0] + 4, range[0] + 5],
        ],
      );
      for (const pair of pairs) {
        assert.equal(pair.rtpPort % 2, 0);
        assert.equal(pair.rtp.address().port, pair.rtpPort);
        assert.equal(pair.rtcp.address().port, pair.rtcpPort);
        assert.equal(pair.rtp.address().address, '127.0.0.1');
      }
      assert.equal(allocator.inUse, 3);
    } finally {
      releaseAll(allocator, pairs);
    }
    assert.equal(allocator.inUse, 0);
  });

  it('starts at the next even port when the range begins on an odd one', async () => {
    const [first] = await freePortRange(6);
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: [first + 1, first + 5] });
    assert.equal(allocator.capacity, 2);
    const pair = await allocator.allocate();
    assert.equal(pair.rtpPort, first + 2);
    allocator.release(pair);
  });

  it('skips a pair whose RTP or RTCP port another socket holds', async () => {
    const range = await freePortRange(6);
    const holders: Socket[] = [await bindSocket(range[0]), await bindSocket(range[0] + 3)];
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: range });
    try {
      const pair = await allocator.allocate();
      assert.equal(pair.rtpPort, range[0] + 4);
      assert.equal(allocator.inUse, 1);
      await assert.rejects(allocator.allocate(), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'MEDIA_PORTS_EXHAUSTED');
        return true;
      });
      allocator.release(pair);
    } finally {
      await Promise.all(holders.map(closeSocket));
    }
    const afterHoldersLeft = [await allocator.allocate(), await allocator.allocate(), await allocator.allocate()];
    assert.deepEqual(
      afterHoldersLeft.map((p) => p.rtpPort).sort((x, y) => x - y),
      [range[0], range[0] + 2, range[0] + 4],
      'pairs that were held are tried again later',
    );
    releaseAll(allocator, afterHoldersLeft);
  });

  it('rejects with a retriable MEDIA_PORTS_EXHAUSTED when every pair is in use', async () => {
    const range = await freePortRange(4);
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: range });
    const pairs = [await allocator.allocate(), await allocator.allocate()];
    await assert.rejects(allocator.allocate(), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'MEDIA_PORTS_EXHAUSTED');
      assert.equal(error.retriable, true);
      return true;
    });
    assert.equal(allocator.inUse, 2);
    releaseAll(allocator, pairs);
  });

  it('does not hand a released pair out again while other pairs are free (round-robin)', async () => {
    const range = await freePortRange(6);
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: range });
    const first = await allocator.allocate();
    allocator.release(first);
    const second = await allocator.allocate();
    const third = await allocator.allocate();
    assert.deepEqual([second.rtpPort, third.rtpPort], [range[0] + 2, range[0] + 4]);
    const reused = await allocator.allocate();
    assert.equal(reused.rtpPort, range[0], 'the released pair comes back once the others are taken');
    assert.equal(allocator.inUse, 3);
    releaseAll(allocator, [second, third, reused]);
  });

  it('closes the sockets on release so the ports can be bound again; releasing twice is harmless', async () => {
    const range = await freePortRange(2);
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: range });
    const pair = await allocator.allocate();
    allocator.release(pair);
    allocator.release(pair);
    assert.equal(allocator.inUse, 0);
    const rebound = await bindSocket(pair.rtpPort);
    await closeSocket(rebound);
    const again = await allocator.allocate();
    assert.equal(again.rtpPort, pair.rtpPort);
    allocator.release(pair);
    assert.equal(allocator.inUse, 1, 'a stale pair object does not release the new holder');
    allocator.release(again);
    assert.equal(allocator.inUse, 0);
  });

  it('gives concurrent allocations distinct pairs', async () => {
    const range = await freePortRange(8);
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: range });
    const pairs = await Promise.all([allocator.allocate(), allocator.allocate(), allocator.allocate()]);
    assert.equal(new Set(pairs.map((p) => p.rtpPort)).size, 3);
    releaseAll(allocator, pairs);
  });

  it('binds udp6 sockets for an IPv6 host', async () => {
    const range = await freePortRange(2, '::1');
    const allocator = new PortAllocator({ host: '::1', portRange: range });
    const pair = await allocator.allocate();
    assert.equal(pair.rtp.address().family, 'IPv6');
    allocator.release(pair);
  });

  it('refuses a range without an even/odd pair', () => {
    assert.throws(() => new PortAllocator({ portRange: [30001, 30002] }), RangeError);
    assert.throws(() => new PortAllocator({ portRange: [30010, 30000] }), RangeError);
    assert.throws(() => new PortAllocator({ portRange: [0, 70000] }), RangeError);
  });
});
