import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeerTable } from '../../../src/b2bua/index.js';
import { AppError } from '../../../src/errors.js';

const table = new PeerTable({
  trunk: { addresses: ['198.51.100.0/24', '203.0.113.7', '2001:db8:100::/48'], uri: 'sip:198.51.100.1:5060' },
  pbx: { addresses: ['10.0.0.5', 'fd00:10::5', '::ffff:172.16.0.0/108'], uri: 'sip:10.0.0.5:5060' },
});

describe('PeerTable.classify', () => {
  it('matches single IPv4 addresses', () => {
    assert.equal(table.classify('203.0.113.7'), 'trunk');
    assert.equal(table.classify('10.0.0.5'), 'pbx');
    assert.equal(table.classify('10.0.0.6'), undefined);
  });

  it('matches IPv4 CIDR networks at their edges', () => {
    assert.equal(table.classify('198.51.100.0'), 'trunk');
    assert.equal(table.classify('198.51.100.255'), 'trunk');
    assert.equal(table.classify('198.51.101.0'), undefined);
  });

  it('matches IPv6 addresses and networks in any spelling', () => {
    assert.equal(table.classify('2001:db8:100:ffff::1'), 'trunk');
    assert.equal(table.classify('2001:DB8:100:0:0:0:0:9'), 'trunk');
    assert.equal(table.classify('2001:db8:101::1'), undefined);
    assert.equal(table.classify('fd00:10:0:0:0:0:0:5'), 'pbx');
    assert.equal(table.classify('[fd00:10::5]'), 'pbx');
  });

  it('matches IPv4-mapped IPv6 sources against IPv4 entries', () => {
    assert.equal(table.classify('::ffff:198.51.100.20'), 'trunk');
    assert.equal(table.classify('::ffff:10.0.0.5'), 'pbx');
    assert.equal(table.classify('::ffff:10.0.0.6'), undefined);
  });

  it('matches IPv4 sources against IPv4-mapped IPv6 entries', () => {
    // ::ffff:172.16.0.0/108 is 172.16.0.0/12
    assert.equal(table.classify('172.16.3.4'), 'pbx');
    assert.equal(table.classify('172.31.255.255'), 'pbx');
    assert.equal(table.classify('172.32.0.1'), undefined);
  });

  it('returns undefined for other and unparseable sources', () => {
    for (const source of [
      '192.0.2.1',
      '::1',
      '127.0.0.1',
      '',
      'sbc.example.com',
      '198.51.100.300',
      '198.51.100.0/24',
    ]) {
      assert.equal(table.classify(source), undefined, source);
    }
  });

  it('prefers trunk when an address is on both sides', () => {
    const overlapping = new PeerTable({
      trunk: { addresses: ['10.0.0.0/8'], uri: 'sip:a' },
      pbx: { addresses: ['10.0.0.5'], uri: 'sip:b' },
    });
    assert.equal(overlapping.classify('10.0.0.5'), 'trunk');
  });

  it('tells the URI of each side', () => {
    assert.equal(table.uriOf('trunk'), 'sip:198.51.100.1:5060');
    assert.equal(table.uriOf('pbx'), 'sip:10.0.0.5:5060');
  });
});

describe('PeerTable construction', () => {
  for (const entry of [
    '10.0.0.0/33',
    'pbx.example.com',
    '10.0.0.1/abc',
    '10.0.0.1/',
    '',
    '2001:db8::/129',
    'fe80::1%eth0',
  ]) {
    it(`rejects ${JSON.stringify(entry)} with CONFIG_INVALID`, () => {
      assert.throws(
        () =>
          new PeerTable({
            trunk: { addresses: ['192.0.2.1'], uri: 'sip:a' },
            pbx: { addresses: [entry], uri: 'sip:b' },
          }),
        (error: unknown) =>
          error instanceof AppError && error.code === 'CONFIG_INVALID' && error.message.startsWith('pbx.addresses[0]'),
      );
    });
  }
});
