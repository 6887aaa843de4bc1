import { describe, expect, test } from 'vitest';
import {
  centsToPrice,
  containsPattern,
  MAX_PRICE_CENTS,
  normalizeName,
  normalizeUuid,
  numberToPlainDecimal,
  parseIdList,
  parsePrice,
} from '../rules.js';

function centsOf(value: unknown): number {
  const parsed = parsePrice(value);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(value)} to parse, got: ${parsed.message}`);
  return parsed.value;
}

function rejectionOf(value: unknown): string {
  const parsed = parsePrice(value);
  if (parsed.ok) throw new Error(`expected ${String(value)} to be rejected, got ${parsed.value} cents`);
  return parsed.message;
}

describe('parsePrice', () => {
  test.each([
    [0, 0],
    [1, 100],
    [19.99, 1999],
    [20, 2000],
    [0.01, 1],
    [0.1, 10],
    [0.3, 30],
    [1_000_000, MAX_PRICE_CENTS],
    [999_999.99, 99_999_999],
  ])('when the number %s is given, then it is %i cents', (value, cents) => {
    expect(centsOf(value)).toBe(cents);
  });

  test.each([
    [19.999, 2000],
    [1.005, 101],
    [0.125, 13],
    [2.675, 268],
    [1.004, 100],
    [1.015, 102],
    [8.345, 835],
    [0.005, 1],
    [0.004999, 0],
    [0.0049999999, 0],
    [10.235, 1024],
    [1_000_000.004, MAX_PRICE_CENTS],
  ])('when the number %s needs rounding, then it rounds half-up on its decimal digits to %i cents', (value, cents) => {
    expect(centsOf(value)).toBe(cents);
  });

  test.each([
    [1e-7, 0],
    [5e-3, 1],
    [4.9e-3, 0],
    [1.5e-2, 2],
    [-0, 0],
  ])('when JS writes the number %s in exponent form or as -0, then it still rounds exactly to %i cents', (value, cents) => {
    expect(centsOf(value)).toBe(cents);
  });

  test.each([
    ['19.99', 1999],
    [' 5 ', 500],
    ['\t7.5\n', 750],
    ['0', 0],
    ['0.00', 0],
    ['19.999', 2000],
    ['1.005', 101],
    ['0.125', 13],
    ['2.675', 268],
    ['1.00000000000000000000000000000001', 100],
    ['0.00499999999999999999999999', 0],
    ['0.00500000000000000000000000', 1],
    ['007.10', 710],
    ['.5', 50],
    ['5.', 500],
    ['+3.25', 325],
    ['-0', 0],
    ['-0.00', 0],
    ['1000000', MAX_PRICE_CENTS],
    ['1000000.00', MAX_PRICE_CENTS],
    ['1000000.004', MAX_PRICE_CENTS],
    ['999999.995', MAX_PRICE_CENTS],
  ])('when the numeric string %j is given, then it is %i cents', (value, cents) => {
    expect(centsOf(value)).toBe(cents);
  });

  test.each([-1, -0.01, -0.001, -19.99, -1e-7, '-1', '-0.01', ' -5 ', '-0.001'])(
    'when the price %j is negative, then it is rejected as negative',
    (value) => {
      expect(rejectionOf(value)).toBe('price must not be negative');
    },
  );

  test.each([
    1_000_000.01,
    1_000_000.005,
    2_000_000,
    1e21,
    Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER,
    '1000000.01',
    '1000000.005',
    '99999999999999999999999999',
  ])('when the price %j is over 1,000,000.00 after rounding, then it is rejected as too large', (value) => {
    expect(rejectionOf(value)).toBe('price must be at most 1000000.00');
  });

  test.each([
    '',
    '   ',
    'abc',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e3',
    '1E3',
    '1e-7',
    '0x10',
    '0b1',
    '0o7',
    '1,000',
    '1_000',
    '12abc',
    '1.2.3',
    '.',
    '-',
    '+',
    '--1',
    '+-1',
    '$5',
    '5 5',
    '١٢',
    '١',
    '0.5%',
  ])('when the string %j is not a plain decimal, then it is rejected naming price', (value) => {
    expect(rejectionOf(value)).toMatch(/^price must be a non-negative decimal number/);
  });

  test.each([NaN, Infinity, -Infinity])('when the number %s is not finite, then it is rejected naming price', (value) => {
    expect(rejectionOf(value)).toMatch(/^price must be a non-negative decimal number/);
  });

  test.each([null, undefined, true, false, {}, [], [5], { amount: 5 }, 5n, Symbol('price'), () => 5])(
    'when the value %s is neither a number nor a string, then it is rejected naming price',
    (value) => {
      expect(rejectionOf(value)).toBe('price must be a number or a numeric string');
    },
  );
});

describe('numberToPlainDecimal', () => {
  test.each([
    [1e-7, '0.0000001'],
    [1.5e-7, '0.00000015'],
    [1.2345e-10, '0.00000000012345'],
    [-1e-7, '-0.0000001'],
    [1e21, '1000000000000000000000'],
    [1.5e21, '1500000000000000000000'],
    [1.2345e22, '12345000000000000000000'],
    [19.99, '19.99'],
    [0, '0'],
  ])('when given %s, then it writes %j', (value, text) => {
    expect(numberToPlainDecimal(value)).toBe(text);
  });
});

describe('centsToPrice', () => {
  test.each([
    [0, 0],
    [1, 0.01],
    [1999, 19.99],
    [2000, 20],
    [101, 1.01],
    [MAX_PRICE_CENTS, 1_000_000],
    [99_999_999, 999_999.99],
  ])('when given %i cents, then it is the amount %s', (cents, price) => {
    expect(centsToPrice(cents)).toBe(price);
    expect(JSON.stringify(centsToPrice(cents))).toBe(String(price));
  });

  test('when every cent amount up to 10,000.00 goes out and comes back, then it is the same number of cents', () => {
    const mismatches: number[] = [];
    for (let cents = 0; cents <= 1_000_000; cents += 1) {
      const parsed = parsePrice(JSON.parse(JSON.stringify(centsToPrice(cents))));
      if (!parsed.ok || parsed.value !== cents) mismatches.push(cents);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('parseIdList', () => {
  const a = '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55';
  const b = '0b0d5f3e-2a7c-4b59-8f8e-3f9c1d2e4a10';

  test('when given comma-separated UUIDs, then it returns them lower-cased, without blanks or repeats', () => {
    expect(parseIdList(`${a}, ${b.toUpperCase()} ,${a}`)).toEqual({ ok: true, value: [a, b] });
  });

  test('when given one UUID in urn form, then it is unwrapped', () => {
    expect(parseIdList(`urn:uuid:${a}`)).toEqual({ ok: true, value: [a] });
  });

  test('when given exactly 100 ids, then all are kept', () => {
    const ids = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const parsed = parseIdList(ids.join(','));
    expect(parsed.ok && parsed.value).toEqual(ids);
  });

  test('when given 101 ids, then it is rejected naming ids', () => {
    const ids = Array.from({ length: 101 }, () => a);
    expect(parseIdList(ids.join(','))).toEqual({ ok: false, message: 'ids must list at most 100 ids (got 101)' });
  });

  test.each([
    ['not-a-uuid', 1, 'is not a UUID'],
    [`${a},nope`, 2, 'is not a UUID'],
    [`${a},,${b}`, 2, 'is empty'],
    [`${a},`, 2, 'is empty'],
    [`${a}0`, 1, 'is not a UUID'],
    [`{${a}}`, 1, 'is not a UUID'],
    [a.replace(/-/g, ''), 1, 'is not a UUID'],
    [`${a};${b}`, 1, 'is not a UUID'],
  ])('when given %j, then entry %i is rejected', (raw, entry, why) => {
    expect(parseIdList(raw)).toEqual({ ok: false, message: `ids must be comma-separated UUIDs: entry ${entry} ${why}` });
  });
});

describe('normalizeUuid', () => {
  test('when given an upper-case or urn UUID, then it answers the lower-case plain form', () => {
    expect(normalizeUuid('URN:UUID:6F1C1F8E-6A4E-4C43-9A55-2B1F0F3F4F55')).toBe('6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55');
  });
});

describe('containsPattern', () => {
  test.each([
    ['cup', '%cup%'],
    ['50%', '%50\\%%'],
    ['a_b', '%a\\_b%'],
    ['back\\slash', '%back\\\\slash%'],
    ['%_\\', '%\\%\\_\\\\%'],
  ])('when searching %j, then the LIKE pattern is %j', (q, pattern) => {
    expect(containsPattern(q)).toBe(pattern);
  });
});

describe('normalizeName', () => {
  test.each([
    ['Mug', 'Mug'],
    ['  Mug \t', 'Mug'],
    ['\u00a0Tea  pot\n', 'Tea  pot'],
  ])('when given %j, then it stores %j', (name, stored) => {
    expect(normalizeName(name)).toEqual({ ok: true, value: stored });
  });

  test.each(['', ' ', '\t\n', '\u00a0\u2003'])('when given the blank %j, then it is rejected naming name', (name) => {
    expect(normalizeName(name)).toEqual({ ok: false, message: 'name must not be blank' });
  });
});
