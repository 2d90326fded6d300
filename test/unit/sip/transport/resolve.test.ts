/**
 * Target resolution (RFC 3263 §4 subset, no NAPTR): transport from the `transport` parameter or
 * the scheme (sips → TLS), else UDP; IP literals resolve to themselves; names through A/AAAA
 * (injected resolver) and, when enabled and no port is given, SRV ordered by priority/weight
 * (RFC 2782); default ports 5060 / 5061; maddr overrides the host.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import { isSipUri, parseUri, type SipUri } from '../../../../src/sip/message/index.js';
import {
  orderSrv,
  resolveTarget,
  uriTransport,
  type HostLookup,
  type SrvRecord,
} from '../../../../src/sip/transport/index.js';

function uri(text: string): SipUri {
  const parsed = parseUri(text);
  assert.ok(parsed !== undefined && isSipUri(parsed), text);
  return parsed;
}

const noDns: HostLookup = () => Promise.reject(new Error('DNS must not be used for literals'));

function isAppError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof AppError && error.code === code;
}

describe('resolveTarget', () => {
  it('resolves an IPv4 literal to itself at the URI port or 5060 over UDP', async () => {
    assert.deepEqual(await resolveTarget(uri('sip:alice@192.0.2.1'), { lookup: noDns }), [
      { protocol: 'udp', address: '192.0.2.1', port: 5060 },
    ]);
    assert.deepEqual(await resolveTarget(uri('sip:alice@192.0.2.1:5080'), { lookup: noDns }), [
      { protocol: 'udp', address: '192.0.2.1', port: 5080 },
    ]);
  });

  it('resolves an IPv6 reference to the bare address with its transport', async () => {
    assert.deepEqual(await resolveTarget(uri('sip:[2001:DB8::1]:5070;transport=tcp'), { lookup: noDns }), [
      { protocol: 'tcp', address: '2001:db8::1', port: 5070 },
    ]);
  });

  it('resolves a name through the injected resolver, all addresses in resolver order', async () => {
    const asked: string[] = [];
    const lookup: HostLookup = async (name) => {
      asked.push(name);
      return [
        { address: '2001:db8::5', family: 6 },
        { address: '192.0.2.5', family: 4 },
        { address: '192.0.2.5', family: 4 },
      ];
    };
    assert.deepEqual(await resolveTarget(uri('sip:bob@pbx.example.com'), { lookup }), [
      { protocol: 'udp', address: '2001:db8::5', port: 5060 },
      { protocol: 'udp', address: '192.0.2.5', port: 5060 },
    ]);
    assert.deepEqual(asked, ['pbx.example.com']);
    assert.deepEqual(await resolveTarget(uri('sip:bob@pbx.example.com'), { lookup, family: 4 }), [
      { protocol: 'udp', address: '192.0.2.5', port: 5060 },
    ]);
  });

  it('picks the transport from the transport parameter and the scheme', () => {
    assert.equal(uriTransport(uri('sip:a@example.com')), 'udp');
    assert.equal(uriTransport(uri('sip:a@example.com;transport=TCP')), 'tcp');
    assert.equal(uriTransport(uri('sip:a@example.com;transport=tls')), 'tls');
    assert.equal(uriTransport(uri('sips:a@example.com')), 'tls');
    assert.equal(uriTransport(uri('sips:a@example.com;transport=tcp')), 'tls');
    assert.throws(() => uriTransport(uri('sip:a@example.com;transport=sctp')), isAppError('SIP_TRANSPORT_ERROR'));
    assert.throws(() => uriTransport(uri('sips:a@example.com;transport=udp')), isAppError('SIP_TRANSPORT_ERROR'));
  });

  it('resolves sips to TLS on port 5061', async () => {
    assert.deepEqual(await resolveTarget(uri('sips:bob@192.0.2.1'), { lookup: noDns }), [
      { protocol: 'tls', address: '192.0.2.1', port: 5061 },
    ]);
    assert.deepEqual(await resolveTarget(uri('sip:bob@192.0.2.1;transport=tls'), { lookup: noDns }), [
      { protocol: 'tls', address: '192.0.2.1', port: 5061 },
    ]);
  });

  it('uses maddr instead of the host (RFC 3263 §4)', async () => {
    assert.deepEqual(await resolveTarget(uri('sip:bob@pbx.example.com:5070;maddr=192.0.2.9'), { lookup: noDns }), [
      { protocol: 'udp', address: '192.0.2.9', port: 5070 },
    ]);
  });

  it('queries SRV for a name without a port when enabled, ordered by priority', async () => {
    const queried: string[] = [];
    const records: SrvRecord[] = [
      { name: 'backup.example.com', port: 5080, priority: 20, weight: 0 },
      { name: 'main.example.com', port: 5070, priority: 10, weight: 0 },
    ];
    const lookup: HostLookup = async (name) =>
      name === 'main.example.com' ? [{ address: '192.0.2.10', family: 4 }] : [{ address: '192.0.2.20', family: 4 }];
    const endpoints = await resolveTarget(uri('sips:bob@example.com'), {
      srv: true,
      lookup,
      resolveSrv: async (name) => {
        queried.push(name);
        return records;
      },
    });
    assert.deepEqual(queried, ['_sips._tcp.example.com']);
    assert.deepEqual(endpoints, [
      { protocol: 'tls', address: '192.0.2.10', port: 5070 },
      { protocol: 'tls', address: '192.0.2.20', port: 5080 },
    ]);

    await resolveTarget(uri('sip:bob@example.com;transport=tcp'), {
      srv: true,
      lookup,
      resolveSrv: async (name) => {
        queried.push(name);
        return records;
      },
    });
    assert.equal(queried.at(-1), '_sip._tcp.example.com');
  });

  it('skips SRV when the URI has a port, and falls back to A/AAAA when there are no SRV records', async () => {
    const lookup: HostLookup = async () => [{ address: '192.0.2.30', family: 4 }];
    const failingSrv = (): Promise<SrvRecord[]> => Promise.reject(new Error('SRV must not be queried'));
    assert.deepEqual(
      await resolveTarget(uri('sip:bob@example.com:5099'), { srv: true, lookup, resolveSrv: failingSrv }),
      [{ protocol: 'udp', address: '192.0.2.30', port: 5099 }],
    );
    const noRecords = (): Promise<SrvRecord[]> =>
      Promise.reject(Object.assign(new Error('ENODATA'), { code: 'ENODATA' }));
    assert.deepEqual(await resolveTarget(uri('sip:bob@example.com'), { srv: true, lookup, resolveSrv: noRecords }), [
      { protocol: 'udp', address: '192.0.2.30', port: 5060 },
    ]);
  });

  it('rejects with SIP_TRANSPORT_ERROR when a name does not resolve', async () => {
    const lookup: HostLookup = () => Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }));
    await assert.rejects(resolveTarget(uri('sip:bob@nowhere.invalid'), { lookup }), isAppError('SIP_TRANSPORT_ERROR'));
    await assert.rejects(
      resolveTarget(uri('sip:bob@v6only.example.com'), {
        lookup: async () => [{ address: '2001:db8::1', family: 6 }],
        family: 4,
      }),
      isAppError('SIP_TRANSPORT_ERROR'),
    );
  });

  it('orders SRV records by priority, then by weight (RFC 2782)', () => {
    const records: SrvRecord[] = [
      { name: 'c', port: 1, priority: 2, weight: 0 },
      { name: 'a', port: 1, priority: 1, weight: 0 },
      { name: 'b', port: 1, priority: 1, weight: 100 },
    ];
    // A draw of 0.999 picks the end of the running sum: the heavy record first.
    assert.deepEqual(
      orderSrv(records, () => 0.999).map((r) => r.name),
      ['b', 'a', 'c'],
    );
    // A draw of 0 picks the weight-0 record placed first.
    assert.deepEqual(
      orderSrv(records, () => 0).map((r) => r.name),
      ['a', 'b', 'c'],
    );
  });
});
