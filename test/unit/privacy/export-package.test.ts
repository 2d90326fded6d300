/**
 * The pieces of an evidence package (issue 9, SPEC §7): `summary.csv` quoting (RFC 4180, CRLF,
 * spreadsheet formulas neutralised but phone numbers left alone), the README's verification
 * instructions, and the package folder — created 0700, refused when it exists and is not empty.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  csvField,
  packageDirProblem,
  preparePackageDir,
  readmeText,
  summaryCsv,
  type SummaryRow,
} from '../../../src/privacy/index.js';

const ROW: SummaryRow = {
  id: 'rec-1',
  start: '2024-01-01T10:00:00.000Z',
  end: '2024-01-01T10:01:00.000Z',
  direction: 'inbound',
  caller: '+4930111222',
  callee: '201',
  profile: 'trading',
  files: ['rec-1.json', 'rec-1.sha256', 'rec-1.wav'],
  checksumSha256: 'a'.repeat(64),
  verified: true,
  source: 'spool',
  problems: [],
};

describe('csvField', () => {
  it('leaves plain text, ISO times and phone numbers as they are', () => {
    for (const value of ['trading', '2024-01-01T10:00:00.000Z', '+4930123456201', '-12', '201', '']) {
      assert.equal(csvField(value), value);
    }
  });

  it('quotes a field with a comma, a quote or a line break and doubles its quotes', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\rlf'), '"cr\rlf"');
  });

  it('defuses what a spreadsheet would run as a formula', () => {
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField("+cmd|'/C calc'!A0"), "'+cmd|'/C calc'!A0");
    assert.equal(csvField('-2+3'), "'-2+3");
    assert.equal(csvField('\tx'), "'\tx");
  });
});

describe('summaryCsv', () => {
  it('writes the header and one CRLF line per recording, yes/no for verified, empty for unknown', () => {
    const failed: SummaryRow = {
      ...ROW,
      id: 'rec-2',
      end: null,
      caller: null,
      checksumSha256: null,
      verified: false,
      source: null,
      files: [],
      problems: ['rec-2.wav does not match its checksum (altered)', 'no signature, "sig"'],
    };
    const text = summaryCsv([ROW, failed]);
    assert.ok(text.endsWith('\r\n'));
    const lines = text.slice(0, -2).split('\r\n');
    assert.deepEqual(lines, [
      'id,start,end,direction,caller,callee,profile,files,checksum_sha256,verified,source,problems',
      `rec-1,2024-01-01T10:00:00.000Z,2024-01-01T10:01:00.000Z,inbound,+4930111222,201,trading,rec-1.json rec-1.sha256 rec-1.wav,${'a'.repeat(64)},yes,spool,`,
      'rec-2,2024-01-01T10:00:00.000Z,,inbound,,201,trading,,,no,,"rec-2.wav does not match its checksum (altered); no signature, ""sig"""',
    ]);
  });

  it('is only the header for no recordings', () => {
    assert.equal(
      summaryCsv([]),
      'id,start,end,direction,caller,callee,profile,files,checksum_sha256,verified,source,problems\r\n',
    );
  });
});

describe('readmeText', () => {
  const facts = {
    number: '+4930111222',
    createdAt: '2024-06-01T08:00:00.000Z',
    installationId: 'inst-1',
    certificateFingerprint: 'AB:CD',
  };

  it('says what the package holds and how to verify it with verify.sh or openssl and shasum', () => {
    const text = readmeText({ ...facts, rows: [ROW] });
    assert.match(text, /Recordings involving \+4930111222 \(all recordings kept\): 1\./);
    assert.match(text, /installation inst-1/);
    assert.match(text, /SHA-256 fingerprint AB:CD/);
    assert.match(text, /\.\/verify\.sh rec-1 certificate\.pem/);
    assert.match(text, /for d in \*\/; do \.\/verify\.sh "\$d" certificate\.pem/);
    assert.match(text, /shasum -a 256 -c <id>\.sha256/);
    assert.match(text, /openssl dgst -sha256 -verify \/tmp\/pub\.pem -signature \/tmp\/sig\.bin <id>\.sha256/);
    assert.match(text, /Every recording verified when the package was made\./);
    assert.doesNotMatch(text, /WARNING/);
  });

  it('warns about recordings that failed verification and names the period', () => {
    const text = readmeText({
      ...facts,
      since: '2024-01-01T00:00:00Z',
      until: '2024-02-01T00:00:00Z',
      rows: [ROW, { ...ROW, id: 'rec-bad', verified: false }],
    });
    assert.match(text, /WARNING: 1 recording\(s\) FAILED verification .*: rec-bad/);
    assert.match(text, /started from 2024-01-01T00:00:00Z before 2024-02-01T00:00:00Z/);
  });
});

describe('package folder', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'callrec-package-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('creates a new folder and its parents with mode 0700', async () => {
    const dir = join(work, 'new', 'package');
    assert.equal(await packageDirProblem(dir), undefined);
    await preparePackageDir(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it('accepts an existing empty folder and makes it 0700', async () => {
    const dir = join(work, 'empty');
    await mkdir(dir, { mode: 0o755 });
    await preparePackageDir(dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it('refuses a folder that is not empty, and a file, touching neither', async () => {
    const full = join(work, 'full');
    await mkdir(full);
    await writeFile(join(full, 'other.txt'), 'keep me');
    assert.match((await packageDirProblem(full)) ?? '', /exists and is not empty/);
    await assert.rejects(
      preparePackageDir(full),
      (error: unknown) => error instanceof AppError && /not empty/.test(error.message),
    );
    assert.deepEqual(await readdir(full), ['other.txt']);
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    assert.match((await packageDirProblem(file)) ?? '', /not a folder/);
    await assert.rejects(preparePackageDir(file), AppError);
  });
});
