/**
 * Number normalisation (SPEC §3: "Numbers are normalised (E.164 from country code, area code,
 * national/international prefixes, extension length in config) before matching"), one table per
 * input form, with the example plan: +49, area 30, prefixes 00 / 0, company +4930123456,
 * extensions 201 and 202.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createNumberNormaliser,
  describeNumber,
  type NormalisedNumber,
  type PolicyNumbering,
  type PolicyUser,
} from '../../../src/policy/index.js';

const numbering: PolicyNumbering = {
  countryCode: '49',
  areaCode: '30',
  internationalPrefix: '00',
  nationalPrefix: '0',
  companyNumber: '+4930123456',
};
const users: PolicyUser[] = [
  { id: 'alice', extension: '201', numbers: ['+4930123456201'] },
  { id: 'bob', extension: '202', numbers: ['+4930123456202'] },
];
const example = createNumberNormaliser(numbering, users);

const e164 = (value: string): NormalisedNumber => ({ kind: 'e164', value });
const extension = (value: string): NormalisedNumber => ({ kind: 'extension', value });
const unknown = (value: string): NormalisedNumber => ({ kind: 'unknown', value });

function table(rows: ReadonlyArray<readonly [string, NormalisedNumber]>, normaliser = example): void {
  for (const [raw, expected] of rows) {
    it(`${JSON.stringify(raw)} → ${expected.kind} ${expected.value}`, () => {
      assert.deepEqual(normaliser.normalise(raw), expected);
    });
  }
}

describe('normalise: E.164 with a plus', () => {
  table([
    ['+4930123456', e164('+4930123456')],
    ['+4930123456201', e164('+4930123456201')],
    ['  +4930123456201 ', e164('+4930123456201')],
    ['+1 212 555 0100', e164('+12125550100')],
    ['+0123456', unknown('+0123456')],
    ['+4912345678901234', unknown('+4912345678901234')],
  ]);
});

describe('normalise: visual separators', () => {
  table([
    ['+49 (30) 123-456', e164('+4930123456')],
    ['+49-30-123456', e164('+4930123456')],
    ['+49.30.123456.201', e164('+4930123456201')],
    ['+49 30 / 123456-201', e164('+4930123456201')],
    ['+49 (0)30 123456', e164('+4930123456')],
    ['+49 ( 0 ) 30 123456', e164('+4930123456')],
    ['030 / 123 456-201', e164('+4930123456201')],
    ['(030) 123456', e164('+4930123456')],
  ]);
});

describe('normalise: international prefix', () => {
  table([
    ['004930123456', e164('+4930123456')],
    ['0049 30 123456 201', e164('+4930123456201')],
    ['0033142685300', e164('+33142685300')],
    ['00049', unknown('00049')],
    ['00', unknown('00')],
  ]);
});

describe('normalise: national prefix with area code', () => {
  table([
    ['030123456', e164('+4930123456')],
    ['030123456201', e164('+4930123456201')],
    ['08912345', e164('+498912345')],
  ]);
});

describe('normalise: local numbers without area code', () => {
  table([
    ['123456', e164('+4930123456')],
    ['123456201', e164('+4930123456201')],
  ]);

  it('are unknown when the plan has no area code', () => {
    const noArea = createNumberNormaliser({ ...numbering, areaCode: undefined }, users);
    assert.deepEqual(noArea.normalise('123456'), unknown('123456'));
    assert.deepEqual(noArea.normalise('030123456'), e164('+4930123456'));
  });

  it('are national numbers where the plan has no national prefix and no area code', () => {
    const closed = createNumberNormaliser({ countryCode: '39', internationalPrefix: '00', nationalPrefix: '' }, [
      { extension: '2001' },
    ]);
    assert.deepEqual(closed.normalise('0612345678'), e164('+390612345678'));
    assert.deepEqual(closed.normalise('00390612345678'), e164('+390612345678'));
    assert.deepEqual(closed.normalise('2001'), extension('2001'));
  });
});

describe('normalise: extensions', () => {
  table([
    ['201', extension('201')],
    ['202', extension('202')],
    ['299', extension('299')],
    ['2-0-1', extension('201')],
  ]);

  it('take their length from extensionLength when it is set', () => {
    const four = createNumberNormaliser({ ...numbering, extensionLength: 4 }, users);
    assert.deepEqual(four.normalise('2001'), extension('2001'));
    assert.deepEqual(four.normalise('201'), e164('+4930201'));
  });

  it('take every length used by the users when extensionLength is absent', () => {
    const mixed = createNumberNormaliser(numbering, [{ extension: '21' }, { extension: '3001' }]);
    assert.deepEqual(mixed.normalise('21'), extension('21'));
    assert.deepEqual(mixed.normalise('3001'), extension('3001'));
    assert.deepEqual(mixed.normalise('201'), e164('+4930201'));
  });

  it('do not exist without extensionLength and user extensions', () => {
    const none = createNumberNormaliser(numbering, []);
    assert.deepEqual(none.normalise('201'), e164('+4930201'));
  });
});

describe('normalise: sip: and sips: URIs', () => {
  table([
    ['sip:+4930123456201@trunk.example.net;user=phone', e164('+4930123456201')],
    ['sip:201@10.0.0.5', extension('201')],
    ['sip:201@10.0.0.5:5060;transport=udp', extension('201')],
    ['SIP:0049-30-123456@trunk', e164('+4930123456')],
    ['sips:030123456201@trunk;user=phone', e164('+4930123456201')],
    ['sip:030123456;phone-context=+49@trunk.example.net;user=phone', e164('+4930123456')],
    ['sip:201:secret@pbx', extension('201')],
    ['sip:%2B4930123456@trunk', e164('+4930123456')],
    ['sip:201@pbx?Subject=x', extension('201')],
    ['<sip:+4930123456500@trunk>', e164('+4930123456500')],
    ['"Alice Example" <sip:201@pbx.example.local>;tag=a1b2', extension('201')],
    ['sip:anonymous@anonymous.invalid', unknown('anonymous')],
    ['sip:pbx.example.local', unknown('sip:pbx.example.local')],
  ]);
});

describe('normalise: tel: URIs', () => {
  table([
    ['tel:+4930123456201', e164('+4930123456201')],
    ['tel:+49-30-123456-201', e164('+4930123456201')],
    ['tel:+49 (30) 123-456', e164('+4930123456')],
    ['tel:030123456;phone-context=+49', e164('+4930123456')],
    ['tel:201;phone-context=pbx.example.local', extension('201')],
    ['TEL:+4930123456;ext=201', e164('+4930123456')],
    ['<tel:+4930123456500>', e164('+4930123456500')],
  ]);
});

describe('normalise: user parts without scheme', () => {
  table([
    ['201@10.0.0.5', extension('201')],
    ['+4930123456202@trunk', e164('+4930123456202')],
    ['030123456;phone-context=+49', e164('+4930123456')],
  ]);
});

describe('normalise: feature codes and other unknown input', () => {
  table([
    ['*51', unknown('*51')],
    ['*52', unknown('*52')],
    ['#31#030123456', unknown('#31#030123456')],
    ['sip:*51@pbx', unknown('*51')],
    ['sip:%2A51@pbx', unknown('*51')],
    ['anonymous', unknown('anonymous')],
    ['Restricted', unknown('Restricted')],
    ['201p1', unknown('201p1')],
    ['', unknown('')],
    ['   ', unknown('')],
    ['sip:%zz@pbx', unknown('%zz')],
  ]);
});

describe('normalise: other number plans', () => {
  it('prefers the longer of two matching prefixes (011 international, 1 national)', () => {
    const nanp = createNumberNormaliser(
      { countryCode: '1', areaCode: '212', internationalPrefix: '011', nationalPrefix: '1' },
      [{ extension: '4001' }],
    );
    assert.deepEqual(nanp.normalise('011442071234567'), e164('+442071234567'));
    assert.deepEqual(nanp.normalise('12125550100'), e164('+12125550100'));
    assert.deepEqual(nanp.normalise('5550100'), e164('+12125550100'));
    assert.deepEqual(nanp.normalise('4001'), extension('4001'));
  });
});

describe('aliases: a company DID and its extension are one line', () => {
  it('gives the DID of an extension', () => {
    assert.deepEqual(example.aliases(extension('201')), [extension('201'), e164('+4930123456201')]);
  });

  it('gives the extension of a DID', () => {
    assert.deepEqual(example.aliases(e164('+4930123456500')), [e164('+4930123456500'), extension('500')]);
  });

  it('does not treat a number with a suffix of another length as a DID', () => {
    assert.deepEqual(example.aliases(e164('+49301234562010')), [e164('+49301234562010')]);
    assert.deepEqual(example.aliases(e164('+4930123456')), [e164('+4930123456')]);
  });

  it('has no DIDs without a company number', () => {
    const noCompany = createNumberNormaliser({ ...numbering, companyNumber: undefined }, users);
    assert.deepEqual(noCompany.aliases(extension('201')), [extension('201')]);
    assert.deepEqual(noCompany.aliases(e164('+4930123456201')), [e164('+4930123456201')]);
  });

  it('leaves unknown numbers alone', () => {
    assert.deepEqual(example.aliases(unknown('*51')), [unknown('*51')]);
  });
});

describe('sameNumber', () => {
  const same: ReadonlyArray<readonly [string, string]> = [
    ['+4930123456201', '004930123456201'],
    ['+4930123456201', '030 123456-201'],
    ['+4930123456201', '123456201'],
    ['+4930123456201', '201'],
    ['tel:+49-30-123456-201', 'sip:201@pbx'],
    ['sip:+4930123456500@trunk;user=phone', '500'],
    ['*51', 'sip:*51@pbx'],
    ['anonymous', 'anonymous'],
  ];
  for (const [a, b] of same) {
    it(`${a} is the same as ${b}`, () => {
      assert.equal(example.sameNumber(a, b), true);
      assert.equal(example.sameNumber(b, a), true);
    });
  }

  const different: ReadonlyArray<readonly [string, string]> = [
    ['+4930123456201', '+4930123456202'],
    ['201', '202'],
    ['+4930123456', '201'],
    ['*51', '*52'],
    ['*51', '51'],
    ['', ''],
    ['anonymous', 'sip:pbx.example.local'],
  ];
  for (const [a, b] of different) {
    it(`${JSON.stringify(a)} is not the same as ${JSON.stringify(b)}`, () => {
      assert.equal(example.sameNumber(a, b), false);
    });
  }

  it('accepts normalised numbers', () => {
    assert.equal(example.sameNumber(extension('202'), e164('+4930123456202')), true);
    assert.equal(example.sameNumber(extension('202'), '+49 30 123456 202'), true);
  });
});

describe('describeNumber', () => {
  it('reads well in a log sentence', () => {
    assert.equal(describeNumber(e164('+4930123456')), 'number +4930123456');
    assert.equal(describeNumber(extension('201')), 'extension 201');
    assert.equal(describeNumber(unknown('*51')), 'unknown number "*51"');
    assert.equal(describeNumber(unknown('')), 'an empty number');
  });
});
