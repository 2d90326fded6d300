import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import {
  type Json,
  examplePath,
  useTempDir,
  example,
  load,
  errorsAfter,
  valid,
  at,
  obj,
  arr,
  item,
} from './load-config-fixtures.js';

useTempDir();

describe('semantic checks', () => {
  it('rejects trunk/pbx entries that are not IP addresses or CIDR networks', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.trunk).addresses = ['198.51.100.0/33', '10.0.0.300', 'sbc.example.com', '2001:db8::/129', '10.0.0.0/8x'];
    });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['/trunk/addresses/0', '/trunk/addresses/1', '/trunk/addresses/2', '/trunk/addresses/3', '/trunk/addresses/4'],
    );
    assert.equal(at(errors, '/trunk/addresses/0').message, 'prefix length must be 0 to 32');
    assert.equal(at(errors, '/trunk/addresses/3').message, 'prefix length must be 0 to 128');
    assert.match(at(errors, '/trunk/addresses/2').message, /IPv4\/IPv6 address or CIDR/);
  });

  it('accepts IPv4, IPv6 and IPv4-mapped addresses and networks', async () => {
    const config = await example();
    obj(config.trunk).addresses = ['198.51.100.0/24', '203.0.113.7', '2001:db8::/32', '2001:db8:1::5'];
    obj(config.pbx).addresses = ['::ffff:10.0.0.0/104', '10.0.0.5/32'];
    valid(await load(config));
  });

  it('checks that trunk and pbx URIs are sip:/sips: URIs', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.trunk).uri = 'http://198.51.100.1';
      obj(c.pbx).uri = 'sip:[2001:db8::zz]:5060';
    });
    assert.deepEqual(errors, [
      { path: '/trunk/uri', message: 'must be a sip: or sips: URI' },
      { path: '/pbx/uri', message: 'has an invalid IPv6 reference' },
    ]);
  });

  it('accepts sips:, IPv6 references, user parts and parameters', async () => {
    const config = await example();
    obj(config.trunk).uri = 'sips:carrier@sbc.example.net:5061;transport=tls';
    obj(config.pbx).uri = 'sip:[2001:db8::5]:5060;lr';
    valid(await load(config));
  });

  it('reports profile references to unknown targets, groups and users', async () => {
    const errors = await errorsAfter((c) => {
      item(c.profiles, 0).targets = ['nas', 'tape'];
      item(c.profiles, 0).groups = ['sales'];
      item(c.profiles, 1).users = ['carol'];
    });
    assert.deepEqual(errors, [
      { path: '/profiles/0/groups/0', message: "unknown group 'sales' (not in /groups)" },
      { path: '/profiles/0/targets/1', message: "unknown target 'tape' (not in /targets)" },
      { path: '/profiles/1/users/0', message: "unknown user 'carol' (not in /users)" },
    ]);
  });

  it('reports group members that are not users', async () => {
    const errors = await errorsAfter((c) => {
      item(c.groups, 0).members = ['alice', 'mallory'];
    });
    assert.deepEqual(errors, [{ path: '/groups/0/members/1', message: "unknown user 'mallory' (not in /users)" }]);
  });

  it('reports duplicate ids in users, groups, profiles and targets', async () => {
    const errors = await errorsAfter((c) => {
      item(c.users, 1).id = 'alice';
      arr(c.groups).push({ id: 'trading' });
      item(c.profiles, 1).id = 'trading';
      item(c.targets, 3).id = 'nas';
    });
    assert.equal(at(errors, '/users/1/id').message, "duplicate id 'alice' (first used at /users/0)");
    assert.equal(at(errors, '/groups/1/id').message, "duplicate id 'trading' (first used at /groups/0)");
    assert.equal(at(errors, '/profiles/1/id').message, "duplicate id 'trading' (first used at /profiles/0)");
    assert.equal(at(errors, '/targets/3/id').message, "duplicate id 'nas' (first used at /targets/0)");
  });

  it('reports a reversed port range, T2 below T1, clashing listeners and equal feature codes', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.media).portRange = [30000, 20000];
      obj(c.sip).timers = { t1Ms: 500, t2Ms: 400 };
      arr(obj(c.sip).listen).push({
        transport: 'tls',
        host: '0.0.0.0',
        port: 5060,
        certificate: 'c.pem',
        privateKey: 'k.pem',
      });
      c.featureCodes = { groupLogin: '*51', groupLogout: '*51' };
    });
    assert.equal(at(errors, '/media/portRange').message, 'the first port must not be greater than the last');
    assert.equal(at(errors, '/sip/timers/t2Ms').message, 'must not be less than t1Ms');
    assert.equal(at(errors, '/sip/listen/2').message, 'binds the same TCP address and port as /sip/listen/1');
    assert.equal(at(errors, '/featureCodes/groupLogin').message, 'must differ from groupLogout');
  });

  it('warns about overlapping trunk and pbx networks and secrets in clear', async () => {
    const config = await example();
    obj(config.pbx).addresses = ['198.51.100.5'];
    obj(config.installation).keystorePassword = 'correct horse battery staple';
    const result = await load(config);
    assert.ok(result.ok);
    assert.ok(
      result.warnings.includes('/pbx/addresses/0: overlaps the trunk addresses; sources in both are treated as trunk'),
    );
    assert.ok(result.warnings.some((w) => w.startsWith('/installation/keystorePassword: secret is stored in clear')));
    assert.ok(result.warnings.every((w) => !w.includes('correct horse')));
  });
});

describe('recording policy warnings', () => {
  async function warningsAfter(edit: (config: Json) => void): Promise<string[]> {
    const config = await example();
    edit(config);
    const result = await load(config);
    if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.errors)}`);
    return result.warnings;
  }
  const sameCalls = (warnings: readonly string[]): string[] => warnings.filter((w) => w.includes('match the same'));
  const copyOfTrading = (c: Json, changes: Json = {}): void => {
    arr(c.profiles).push({ ...structuredClone(item(c.profiles, 0)), id: 'trading-copy', ...changes });
  };

  it('are not raised for the example config', async () => {
    const result = await loadConfig(examplePath);
    assert.ok(result.ok);
    assert.deepEqual(sameCalls(result.warnings), []);
    assert.ok(result.warnings.every((w) => !w.startsWith('/groups/')));
  });

  it('warn when two enabled profiles match the same calls', async () => {
    const warnings = await warningsAfter((c) => copyOfTrading(c));
    assert.deepEqual(sameCalls(warnings), [
      '/profiles/2: profiles "trading" and "trading-copy" match the same calls; only the first will ever record',
    ]);
  });

  it('compare groups and users as sets', async () => {
    const warnings = await warningsAfter((c) => {
      item(c.profiles, 1).enabled = true;
      item(c.profiles, 1).outbound = true;
      item(c.profiles, 1).users = ['bob', 'alice'];
      arr(c.profiles).push({
        ...structuredClone(item(c.profiles, 1)),
        id: 'sq-copy',
        users: ['alice', 'bob', 'alice'],
      });
    });
    assert.deepEqual(sameCalls(warnings), [
      '/profiles/2: profiles "service-quality" and "sq-copy" match the same calls; only the first will ever record',
    ]);
  });

  it('do not warn when the profiles differ in a direction, a target or the direct-call option, or one is disabled', async () => {
    for (const changes of [
      { outbound: false },
      { groups: [], users: ['alice', 'bob'] },
      { recordDirectCallsToActiveMembers: false },
      { enabled: false },
    ]) {
      const warnings = await warningsAfter((c) => copyOfTrading(c, changes));
      assert.deepEqual(sameCalls(warnings), [], JSON.stringify(changes));
    }
  });

  it('do not count profiles that record nothing as matching the same calls', async () => {
    const warnings = await warningsAfter((c) => {
      copyOfTrading(c, { id: 'empty-1', groups: [], users: [] });
      copyOfTrading(c, { id: 'empty-2', groups: [], users: [] });
    });
    assert.deepEqual(sameCalls(warnings), []);
  });

  it("warn when a group number is a user's direct number", async () => {
    const warnings = await warningsAfter((c) => {
      item(c.groups, 0).numbers = ['+4930123456500', '+4930123456201'];
    });
    assert.ok(
      warnings.includes(
        '/groups/0/numbers/1: number +4930123456201 of group "trading" is also a number of user "alice" (/users/0/numbers/0)',
      ),
      JSON.stringify(warnings),
    );
    assert.ok(warnings.every((w) => !w.includes('is also assigned')));
  });

  it("warn when a group number is a user's company DID", async () => {
    const warnings = await warningsAfter((c) => {
      item(c.users, 1).numbers = [];
      item(c.groups, 0).numbers = ['+4930123456202'];
    });
    assert.ok(
      warnings.includes(
        '/groups/0/numbers/0: number +4930123456202 of group "trading" is also the direct dial of user "bob" (companyNumber + extension 202)',
      ),
      JSON.stringify(warnings),
    );
  });

  it('keep the general warning for a number given to two users or two groups', async () => {
    const warnings = await warningsAfter((c) => {
      item(c.users, 1).numbers = ['+4930123456201'];
      arr(c.groups).push({ id: 'desk', numbers: ['+4930123456500'] });
    });
    assert.ok(warnings.includes('/users/1/numbers/0: number +4930123456201 is also assigned at /users/0/numbers/0'));
    assert.ok(warnings.includes('/groups/1/numbers/0: number +4930123456500 is also assigned at /groups/0/numbers/0'));
  });
});
