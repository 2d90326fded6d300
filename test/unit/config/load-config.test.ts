import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configSchemaPath, loadConfig } from '../../../src/config/index.js';
import { repoRoot } from '../../support/paths.js';
import { type Json, examplePath, useTempDir, errorsAfter, valid, at, obj, arr, item } from './load-config-fixtures.js';

useTempDir();

describe('the example config', () => {
  it('is valid against the schema and the semantic checks', async () => {
    valid(await loadConfig(examplePath));
  });

  it('fills schema defaults for keys the file omits', async () => {
    const config = valid(await loadConfig(examplePath));
    assert.deepEqual(config.sip.timers, { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 });
    assert.deepEqual(config.sip.limits, { maxMessageBytes: 65535, maxHeaders: 256, maxLineLength: 8192 });
    assert.equal(config.sip.tls.minVersion, 'TLSv1.2');
    assert.equal(config.trunk.onReject, '403');
    assert.equal(config.pbx.onReject, '403');
    assert.equal(config.featureCodes.groupLogin, '*52');
    assert.equal(config.profiles[1]?.recordDirectCallsToActiveMembers, false);
    assert.equal(config.profiles[1]?.consent.acceptDigit, '1');
    const cloud = config.targets.find((t) => t.id === 'cloud');
    assert.equal(cloud?.type === 'onedrive' ? cloud.tenant : undefined, 'common');
  });

  it('resolves relative paths against the config file directory', async () => {
    const config = valid(await loadConfig(examplePath));
    assert.equal(config.installation.dataDir, join(repoRoot, 'config', 'var'));
    assert.equal(config.profiles[0]?.announcement.inbound, join(repoRoot, 'config', 'announcements', 'inbound.wav'));
    const archive = config.targets.find((t) => t.id === 'archive');
    assert.deepEqual(archive?.type === 'sftp' ? archive.privateKey : undefined, { file: '/etc/callrec/id_ed25519' });
  });

  it('is returned deeply frozen', async () => {
    const config = valid(await loadConfig(examplePath));
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.sip.listen[0]));
    assert.ok(Object.isFrozen(config.profiles[0]?.targets));
  });

  it('warns about targets no profile uses', async () => {
    const result = await loadConfig(examplePath);
    assert.ok(result.ok);
    assert.ok(result.warnings.includes("/targets/2: target 'cloud' is not used by any profile"));
  });

  it('uses the schema with an $id from config/', async () => {
    assert.equal(configSchemaPath(), join(repoRoot, 'config', 'callrec.schema.json'));
    const schema = JSON.parse(await readFile(configSchemaPath(), 'utf8')) as Json;
    assert.equal(typeof schema.$id, 'string');
  });
});

describe('schema errors carry the JSON path of the value', () => {
  it('reports a wrong type', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 0).port = '5060';
    });
    assert.deepEqual(errors, [{ path: '/sip/listen/0/port', message: 'must be an integer, not a string' }]);
  });

  it('reports an unknown key at the key itself, with a suggestion', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 0).prot = 5060;
    });
    assert.deepEqual(errors, [{ path: '/sip/listen/0/prot', message: "unknown key (did you mean 'port'?)" }]);
  });

  it('reports an unknown top-level key', async () => {
    const errors = await errorsAfter((c) => {
      c.recorder = {};
    });
    assert.equal(at(errors, '/recorder').message, 'unknown key');
  });

  it('reports a bad enum value with the allowed values', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 1).transport = 'sctp';
      item(c.profiles, 0).channels = 'mono';
      obj(item(c.profiles, 1).consent).legalBasis = 'maybe';
    });
    assert.equal(at(errors, '/sip/listen/1/transport').message, 'must be one of "udp", "tcp", "tls"');
    assert.match(at(errors, '/profiles/0/channels').message, /"both-stereo"/);
    assert.match(at(errors, '/profiles/1/consent/legalBasis').message, /"obligation", "consent", "opt-out"/);
  });

  it('reports a missing required key at the key path', async () => {
    const errors = await errorsAfter((c) => {
      delete obj(c.trunk).uri;
      delete obj(c.installation).keystorePassword;
    });
    assert.equal(at(errors, '/trunk/uri').message, 'required key is missing');
    assert.equal(at(errors, '/installation/keystorePassword').message, 'required key is missing');
  });

  it('reports a missing top-level section', async () => {
    const errors = await errorsAfter((c) => {
      delete c.sip;
    });
    assert.deepEqual(errors, [{ path: '/sip', message: 'required key is missing' }]);
  });

  it('reports ports outside 1..65535', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 0).port = 70000;
      obj(c.media).portRange = [0, 29999];
    });
    assert.equal(at(errors, '/sip/listen/0/port').message, 'must be <= 65535');
    assert.equal(at(errors, '/media/portRange/0').message, 'must be >= 1');
  });

  it('requires certificate and privateKey on a TLS listener', async () => {
    const errors = await errorsAfter((c) => {
      arr(obj(c.sip).listen).push({ transport: 'tls', host: '::', port: 5061 });
    });
    assert.deepEqual(errors, [
      { path: '/sip/listen/2/certificate', message: 'required key is missing' },
      { path: '/sip/listen/2/privateKey', message: 'required key is missing' },
    ]);
  });

  it('checks target keys per type', async () => {
    const errors = await errorsAfter((c) => {
      const [smb, sftp, onedrive] = [item(c.targets, 0), item(c.targets, 1), item(c.targets, 2)];
      delete smb.share;
      smb.privateKey = { file: 'key' };
      delete sftp.privateKey;
      onedrive.cloud = 'mars';
      arr(c.targets).push({ id: 'ftp', type: 'ftp', host: 'x' });
    });
    assert.equal(at(errors, '/targets/0/share').message, 'required key is missing');
    assert.match(at(errors, '/targets/0/privateKey').message, /^unknown key/);
    assert.equal(at(errors, '/targets/1/password').message, 'required key is missing');
    assert.match(at(errors, '/targets/2/cloud').message, /"global", "usgov"/);
    assert.match(at(errors, '/targets/4/type').message, /"smb", "sftp", "onedrive", "local"/);
  });

  it('rejects a share name with folders and an unknown folder placeholder', async () => {
    const errors = await errorsAfter((c) => {
      item(c.targets, 0).share = 'recordings/sub';
      item(c.targets, 0).folder = 'Rec-$Y-$d';
    });
    assert.match(at(errors, '/targets/0/share').message, /without folders/);
    assert.match(at(errors, '/targets/0/folder').message, /placeholders/);
  });

  it('reports a malformed secret once, without its content', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.installation).keystorePassword = { envv: 'CALLREC_KEYSTORE_PASSWORD' };
      item(c.targets, 0).password = 987654321;
    });
    assert.deepEqual(errors, [
      { path: '/installation/keystorePassword', message: 'must be a string, { "env": NAME } or { "file": path }' },
      { path: '/targets/0/password', message: 'must be a string, { "env": NAME } or { "file": path }' },
    ]);
  });

  it('requires refuseDigit for opt-out and routeTo for onRefusal route', async () => {
    const errors = await errorsAfter((c) => {
      item(c.profiles, 1).consent = { legalBasis: 'opt-out', onRefusal: 'route' };
    });
    assert.equal(at(errors, '/profiles/1/consent/refuseDigit').message, 'required key is missing');
    assert.equal(at(errors, '/profiles/1/consent/routeTo').message, 'required key is missing');
  });

  it('rejects non-E.164 numbers', async () => {
    const errors = await errorsAfter((c) => {
      item(c.users, 0).numbers = ['030123456201'];
    });
    assert.match(at(errors, '/users/0/numbers/0').message, /E\.164/);
  });

  it('reports every error of a file at once, in document order', async () => {
    const errors = await errorsAfter((c) => {
      item(c.targets, 3).path = 42;
      obj(c.installation).keySize = 1024;
      obj(c.trunk).addresses = ['not-an-address'];
    });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['/installation/keySize', '/trunk/addresses/0', '/targets/3/path'],
    );
  });
});
