/**
 * Folder templates (SPEC §6): `$Y $M $D $h $m $s` from the recording's start in the configured
 * time zone, zero-padded; `/` nests folders; the result is normalised and can never leave the
 * target's root (`..`, absolute paths, backslashes and control characters are refused with
 * ARCHIVE_PATH). The config loader validates templates with its own copy of the rules; both are
 * run over one table here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandFolder, folderTemplateProblem, localTimeZone, normaliseFolder } from '../../../src/archive/index.js';
import { folderTemplateProblem as configFolderTemplateProblem } from '../../../src/config/index.js';
import { AppError } from '../../../src/errors.js';

const ALL = '$Y-$M-$D/$h$m$s';

function rejectsPath(run: () => unknown, pattern?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, 'ARCHIVE_PATH');
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

describe('expandFolder', () => {
  it('takes the fields in the given zone: Europe/Berlin is already the next day at 22:30 UTC in summer', () => {
    const start = new Date('2024-06-30T22:30:05Z');
    assert.equal(expandFolder(ALL, start, 'UTC'), '2024-06-30/223005');
    assert.equal(expandFolder(ALL, start, 'Europe/Berlin'), '2024-07-01/003005');
  });

  it('crosses the year boundary in the zone, not in UTC (winter time, +01:00)', () => {
    const start = new Date('2024-12-31T23:59:59Z');
    assert.equal(expandFolder('Record-$Y_$M_$D/$h', start, 'UTC'), 'Record-2024_12_31/23');
    assert.equal(expandFolder('Record-$Y_$M_$D/$h', start, 'Europe/Berlin'), 'Record-2025_01_01/00');
    assert.equal(expandFolder('$Y/$M/$D/$h', new Date('2024-01-01T03:00:00Z'), 'America/New_York'), '2023/12/31/22');
  });

  it('zero-pads every field and prints midnight as 00', () => {
    assert.equal(expandFolder('$Y/$M/$D/$h/$m/$s', new Date('2024-01-02T03:04:05Z'), 'UTC'), '2024/01/02/03/04/05');
    assert.equal(expandFolder('$h$m$s', new Date('2024-03-10T00:00:00Z'), 'UTC'), '000000');
    assert.equal(expandFolder('$Y', new Date('0999-05-06T07:08:09Z'), 'UTC'), '0999');
  });

  it('keeps text around placeholders and repeats them', () => {
    assert.equal(
      expandFolder('calls/$Y-$M-$D/$Y$M$D_$h', new Date('2024-06-01T09:15:00Z'), 'UTC'),
      'calls/2024-06-01/20240601_09',
    );
  });

  it('normalises: no empty or "." segments, no trailing "/", "" for the root', () => {
    const start = new Date('2024-06-01T09:15:00Z');
    assert.equal(expandFolder('a//b/./$Y/', start, 'UTC'), 'a/b/2024');
    assert.equal(expandFolder('', start, 'UTC'), '');
    assert.equal(expandFolder('./', start, 'UTC'), '');
  });

  it("uses the host's local zone by default", () => {
    const start = new Date('2024-06-30T22:30:05Z');
    assert.equal(expandFolder(ALL, start), expandFolder(ALL, start, localTimeZone()));
  });

  it('rejects "..", absolute paths, backslashes, control characters and unknown placeholders', () => {
    const start = new Date('2024-06-01T09:15:00Z');
    rejectsPath(() => expandFolder('../x', start, 'UTC'), /\.\./);
    rejectsPath(() => expandFolder('a/$Y/../../b', start, 'UTC'), /\.\./);
    rejectsPath(() => expandFolder('/srv/$Y', start, 'UTC'), /relative/);
    rejectsPath(() => expandFolder('C:/rec', start, 'UTC'), /drive letter/);
    rejectsPath(() => expandFolder('a\\b', start, 'UTC'), /"\/"/);
    rejectsPath(() => expandFolder('a\u0000b', start, 'UTC'), /control/);
    rejectsPath(() => expandFolder('a\nb', start, 'UTC'), /control/);
    rejectsPath(() => expandFolder('Rec-$d', start, 'UTC'), /"\$d"/);
    rejectsPath(() => expandFolder('Rec-$', start, 'UTC'), /lone/);
  });

  it('rejects an unknown time zone and an invalid start', () => {
    rejectsPath(() => expandFolder('$Y', new Date('2024-06-01T00:00:00Z'), 'Mars/Olympus_Mons'), /time zone/);
    rejectsPath(() => expandFolder('$Y', new Date('nonsense'), 'UTC'), /valid date/);
  });
});

describe('normaliseFolder', () => {
  it('checks folders that did not come from a template as well', () => {
    assert.equal(normaliseFolder('a/./b//c/'), 'a/b/c');
    rejectsPath(() => normaliseFolder('a/../b'));
    rejectsPath(() => normaliseFolder('/etc'));
    rejectsPath(() => normaliseFolder('a\\..\\b'));
  });
});

describe('folder template rules of config and archive', () => {
  const cases = [
    '',
    'Recordings/$Y/$M/Record-$Y_$M_$D',
    'calls/$Y-$M-$D',
    './a//b/',
    '...',
    'a..b/$h$m$s',
    '..',
    'a/..',
    '/abs',
    'C:rec',
    'a\\b',
    'tab\there',
    '$x',
    '$',
    '$$Y',
    'price$',
  ];
  for (const template of cases) {
    it(`agree on ${JSON.stringify(template)}`, () => {
      const archive = folderTemplateProblem(template);
      assert.equal(configFolderTemplateProblem(template), archive);
      if (archive === undefined) assert.equal(typeof expandFolder(template, new Date(0), 'UTC'), 'string');
      else rejectsPath(() => expandFolder(template, new Date(0), 'UTC'));
    });
  }
});
