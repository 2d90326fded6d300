/**
 * systemd/callrec.service (issue "GDPR and administration"): a hardened unit — a dedicated user,
 * read-only system but the data dir, only CAP_NET_BIND_SERVICE, no privilege gain, private /tmp,
 * no home, IP and Unix sockets only, enough file descriptors for RTP, SIGTERM with a stop
 * timeout longer than the drain grace, SIGHUP reload, umask 0077 — and `systemd-analyze verify`
 * finds nothing wrong with it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot } from '../../support/paths.js';
import { skipOutsideCi } from '../../support/skip.js';

const UNIT_PATH = join(repoRoot, 'systemd', 'callrec.service');

type UnitFile = Map<string, Map<string, string[]>>;

/** Sections → keys → every assignment in order (systemd allows repeated keys); comments dropped. */
function parseUnit(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  const logical = text.replace(/\\\n/g, ' ').split('\n');
  logical.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header !== null) {
      section = new Map();
      unit.set(header[1] ?? '', section);
      return;
    }
    const assignment = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(assignment !== null && section !== undefined, `line ${index + 1} is no assignment in a section: ${line}`);
    const [, key = '', value = ''] = assignment;
    section.set(key, [...(section.get(key) ?? []), value.trim()]);
  });
  return unit;
}

/** The effective (last) value of a key. */
function value(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** A systemd time span in seconds: `90`, `90s`, `2min`, `1min 30s`. */
function seconds(span: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const match = /^(\d+)([a-z]*)$/.exec(part);
    const factor = units[match?.[2] ?? 'x'];
    assert.ok(match !== null && factor !== undefined, `time span ${span}`);
    total += Number(match[1]) * factor;
  }
  return total;
}

describe('systemd/callrec.service', () => {
  let text: string;
  let unit: UnitFile;
  before(async () => {
    text = await readFile(UNIT_PATH, 'utf8');
    unit = parseUnit(text);
  });
  const service = (key: string): string | undefined => value(unit, 'Service', key);

  it('runs as the dedicated callrec user, never root', () => {
    assert.equal(service('User'), 'callrec');
    assert.equal(service('Group'), 'callrec');
    assert.match(service('ExecStart') ?? '', / run --config \/etc\/callrec\/callrec\.json$/);
  });

  it('makes the system read-only but the data dir, hides homes and /tmp, and creates files 0600', () => {
    assert.equal(service('ProtectSystem'), 'strict');
    assert.deepEqual((service('ReadWritePaths') ?? '').split(/\s+/), ['/var/lib/callrec']);
    assert.equal(service('StateDirectoryMode'), '0700');
    assert.equal(service('ProtectHome'), 'yes');
    assert.equal(service('PrivateTmp'), 'yes');
    assert.equal(service('UMask'), '0077');
  });

  it('grants only CAP_NET_BIND_SERVICE (for port 5060) and forbids gaining privileges', () => {
    assert.equal(service('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
    assert.equal(service('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
    assert.equal(service('NoNewPrivileges'), 'yes');
  });

  it('allows IPv4, IPv6 and Unix sockets only', () => {
    assert.deepEqual((service('RestrictAddressFamilies') ?? '').split(/\s+/).sort(), [
      'AF_INET',
      'AF_INET6',
      'AF_UNIX',
    ]);
  });

  it('allows enough file descriptors for the RTP sockets of thousands of calls', () => {
    assert.ok(Number(service('LimitNOFILE')) >= 16384, `LimitNOFILE=${service('LimitNOFILE')}`);
  });

  it('stops with SIGTERM and waits longer than the drain grace; reloads with SIGHUP', async () => {
    assert.equal(service('KillSignal'), 'SIGTERM');
    const schema = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.schema.json'), 'utf8')) as {
      properties: { b2bua: { properties: { shutdownGraceSeconds: { default: number } } } };
    };
    const grace = schema.properties.b2bua.properties.shutdownGraceSeconds.default;
    assert.ok(seconds(service('TimeoutStopSec') ?? '0') > grace, `TimeoutStopSec must exceed ${grace} s`);
    assert.equal(service('ExecReload'), '/bin/kill -HUP $MAINPID');
  });

  it('leaves MemoryDenyWriteExecute off (V8 needs it) and is wanted by multi-user.target', () => {
    assert.notEqual(service('MemoryDenyWriteExecute'), 'yes');
    assert.equal(value(unit, 'Install', 'WantedBy'), 'multi-user.target');
  });

  it('passes systemd-analyze verify', async (t) => {
    const available = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).status === 0;
    const reason = skipOutsideCi(available ? undefined : 'systemd-analyze is not installed');
    if (reason !== undefined) {
      t.skip(reason);
      return;
    }
    // verify checks that ExecStart's program exists: point it at this node
    const dir = await mkdtemp(join(tmpdir(), 'callrec-unit-'));
    try {
      const copy = join(dir, 'callrec.service');
      await writeFile(copy, text.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
      const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', cwd: dir });
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      const complaints = result.stderr
        .split('\n')
        .filter((line) => line.includes('callrec.service') && !/Failed to (connect|create|open)/i.test(line));
      assert.deepEqual(complaints, [], result.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
