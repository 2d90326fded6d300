/**
 * The test parser of the Prometheus text format (test/support/prom-text.ts) must itself be strict,
 * or "/metrics parses" proves nothing: it accepts the format's examples and refuses what the
 * format does not allow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePromText, PromTextError, sampleValue, sumOf } from '../../support/prom-text.js';

const EXAMPLE = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# A histogram
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# HELP weird A help with a backslash \\\\ and a line break \\n in it.
# TYPE weird gauge
weird NaN
weird{x="y",} -Inf
`;

describe('Prometheus text-format test parser', () => {
  it('parses the format documentation example: types, help, labels, timestamps and escapes', () => {
    const families = parsePromText(EXAMPLE);
    const requests = families.get('http_requests_total');
    assert.equal(requests?.type, 'counter');
    assert.equal(requests?.help, 'The total number of HTTP requests.');
    assert.equal(sampleValue(families, 'http_requests_total', { code: '400' }), 3);
    assert.equal(requests?.samples[0]?.timestampMs, 1395066363000);
    const access = families.get('msdos_file_access_time_seconds');
    assert.equal(access?.type, 'untyped');
    assert.deepEqual(access?.samples[0]?.labels, { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    assert.equal(sumOf(families, 'http_request_duration_seconds_bucket'), 24054 + 144320);
    assert.equal(families.get('weird')?.help, 'A help with a backslash \\ and a line break \n in it.');
    const weird = families.get('weird')?.samples ?? [];
    assert.ok(Number.isNaN(weird[0]?.value), 'NaN');
    assert.equal(weird[1]?.value, Number.NEGATIVE_INFINITY);
    assert.deepEqual(weird[1]?.labels, { x: 'y' }, 'a trailing comma in the labels is allowed');
  });

  const refuses = (text: string, pattern: RegExp): void => {
    assert.throws(
      () => parsePromText(text),
      (error: unknown) => {
        assert.ok(error instanceof PromTextError, String(error));
        assert.match(error.message, pattern);
        return true;
      },
    );
  };

  it('refuses a family whose lines are not together', () => {
    refuses('a 1\nb 2\na{x="1"} 3\n', /not together/);
  });

  it('refuses a TYPE after the samples, a second TYPE or HELP, and an unknown type', () => {
    refuses('a 1\n# TYPE a counter\n', /TYPE of a after/);
    refuses('# TYPE a counter\n# TYPE a counter\n', /second TYPE/);
    refuses('# HELP a x\n# HELP a y\n', /second HELP/);
    refuses('# TYPE a meter\n', /unknown type/);
  });

  it('refuses duplicate samples, bad escapes, unterminated or doubled labels and bad values', () => {
    refuses('a{x="1"} 1\na{x="1"} 2\n', /duplicate sample/);
    refuses('a{x="\\t"} 1\n', /bad escape/);
    refuses('a{x="1} 1\n', /unterminated|expected/);
    refuses('a{x="1",x="2"} 1\n', /twice/);
    refuses('a{__name__="1"} 1\n', /reserved/);
    refuses('a one\n', /bad value/);
    refuses('a\n', /no value/);
    refuses('a 1 12.5\n', /bad timestamp/);
  });

  it('refuses a histogram series that does not belong to it and a missing final line break', () => {
    refuses('# TYPE h histogram\nh 1\n', /does not belong/);
    refuses('a 1', /final line break/);
  });
});
