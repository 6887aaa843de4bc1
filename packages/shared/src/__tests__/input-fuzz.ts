/**
 * What the services' input-validation property tests share: arbitraries for hostile and
 * near-valid bodies and query strings, and the one check every answer must pass (never a 5xx,
 * every 4xx in the error envelope with the code its status means, no stack trace).
 * Not a test file itself (vitest collects only *.test.ts), and outside every build (tsconfig
 * excludes __tests__), so fast-check stays a root devDependency.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { codeForStatus } from '../errors.js';

/** The seed every property runs with; set FC_SEED to replay another (fast-check prints it on failure). */
export const FUZZ_SEED = Number(process.env.FC_SEED ?? 20_261_201);

/** Bounded, reproducible runs: a fixed seed and a few hundred inputs at most per property. */
export function fuzzRuns(numRuns = 150): fc.Parameters<unknown> {
  return { numRuns, seed: FUZZ_SEED, endOnFailure: true, interruptAfterTimeLimit: 30_000 };
}

const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

/** Strings meant to break parsers, databases and length checks. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((text) => `${text}\u0000${text}`),
  fc.tuple(fc.constantFrom(...LONE_SURROGATES), fc.string({ maxLength: 10 })).map(([surrogate, text]) => `${text}${surrogate}${text}`),
  fc.constantFrom(
    '',
    ' ',
    '\t\n',
    'NaN',
    '-NaN',
    'Infinity',
    '-Infinity',
    '1e308',
    '-1e308',
    '1e-400',
    '-0',
    '0x10',
    '1e3',
    ' 12 ',
    '١٢',
    '12abc',
    '99999999999999999999999999',
    'null',
    'true',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    '%00',
    '../../etc/passwd',
    "' OR 1=1 --",
    '\u202e\u0644',
    '\ufeffbom',
    '0000-01-01T00:00:00.000000Z',
  ),
  fc.integer({ min: 1_000, max: 100_000 }).map((length) => 'x'.repeat(length)),
);

/** Numbers on and past every edge: JSON turns NaN and the infinities into null. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(1e308, -1e308, -0, 0, -1, 0.5, 0.005, 1e-7, 5e-324, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 2, -(2 ** 53), 1e21),
  fc.double(),
  fc.integer(),
);

/** Any value a JSON body may hold in a field: hostile scalars, or small arbitrary JSON. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Keys a mass-assignment attempt or a careless client would add. */
export const extraKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('role', 'id', 'userId', 'total', 'status', 'unitPrice', 'createdAt', 'updatedAt', 'passwordHash', 'constructor', ''),
  fc.string({ maxLength: 12 }),
);

/**
 * A valid body with one change: a field replaced by a hostile value, a field dropped, or a key
 * added. Most are invalid; the few that stay valid must simply be accepted.
 */
export function nearValid(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return valid.chain((body) => {
    const keys = Object.keys(body);
    const mutations: fc.Arbitrary<Record<string, unknown>>[] = [
      fc.tuple(extraKey, hostileValue).map(([key, value]) => withKey(body, key, value)),
    ];
    if (keys.length > 0) {
      mutations.push(
        fc.tuple(fc.constantFrom(...keys), hostileValue).map(([key, value]) => withKey(body, key, value)),
        fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(body).filter(([name]) => name !== key))),
      );
    }
    return fc.oneof(...mutations);
  });
}

// A plain own property even for "__proto__", so JSON.stringify writes it.
function withKey(body: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = { ...body };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Bodies that are not even well-formed JSON objects: broken, deep, poisoned or duplicated text. */
export const rawBodyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 50 }),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 100, max: 20_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.integer({ min: 100, max: 5_000 }).map((depth) => `{"__proto__":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`),
  fc.constantFrom(
    '{"__proto__":{"role":"admin"}}',
    '{"constructor":{"prototype":{"role":"admin"}}}',
    '{"a":1,"a":2}',
    '\ufeff{}',
    '{"a":1',
    '{"a":NaN}',
    '{"a":Infinity}',
    "{'a':1}",
    '{"a":1}{"b":2}',
    '',
    'null',
    '1e999999',
  ),
);

/** A body to send: any JSON value (stringified), or raw text, both as application/json. */
export function anyBody(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: nearValid(valid).map((body) => JSON.stringify(body)), weight: 4 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)), weight: 2 },
    { arbitrary: rawBodyText, weight: 1 },
  );
}

/** Raw query fragments no URL encoder would write. */
const rawQueryValue = fc.constantFrom('%', '%zz', '%00', '%ED%A0%80', '%C0%AE', '%FF', '+', '%2B', '&', '=', '==', '%3D', '[]', '1;2');

/**
 * A query string (after `?`) over `names` and a few strangers: hostile or plausible values,
 * repeated keys, raw broken percent-encoding.
 */
export function anyQuery(names: string[], plausible: fc.Arbitrary<string> = fc.string({ maxLength: 8 })): fc.Arbitrary<string> {
  const name = fc.oneof({ arbitrary: fc.constantFrom(...names), weight: 5 }, { arbitrary: extraKey, weight: 1 });
  const encodedPair = fc
    .tuple(name, fc.oneof(plausible, hostileString, hostileNumber.map(String)))
    .map(([key, value]) => new URLSearchParams([[key, value]]).toString());
  const rawPair = fc.tuple(name, rawQueryValue).map(([key, value]) => `${key}=${value}`);
  return fc
    .array(fc.oneof({ arbitrary: encodedPair, weight: 4 }, { arbitrary: rawPair, weight: 1 }), { maxLength: 5 })
    .map((pairs) => pairs.join('&'));
}

/** An answer as `app.inject` gives it. */
interface Answer {
  statusCode: number;
  body: string;
}

/**
 * The defended outcome of any input: below 500, and every 4xx the error envelope with the code
 * its status means and no trace of the internals.
 */
export function expectDefended(res: Answer, input: unknown): void {
  const what = `input ${JSON.stringify(input)?.slice(0, 300)} answered ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, what).toBeLessThan(500);
  if (res.statusCode < 400) return;
  let body: any;
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new Error(`not JSON: ${what}`);
  }
  expect(Object.keys(body), what).toEqual(['error']);
  expect(body.error, what).toMatchObject({ code: codeForStatus(res.statusCode), message: expect.any(String) });
  expect(
    Object.keys(body.error).filter((key) => !['code', 'message', 'details'].includes(key)),
    what,
  ).toEqual([]);
  expect(res.body, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|syntax error at|relation "|violates/i);
}

/** One path segment: hostile text percent-encoded (lone surrogates as U+FFFD), or raw broken escapes and dot segments. */
export const anyPathSegment: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .oneof(
        hostileString,
        fc.uuid().map((id) => id.toUpperCase()),
      )
      .map((text) => encodeURIComponent(wellFormed(text))),
    weight: 4,
  },
  {
    arbitrary: fc.constantFrom('%', '%zz', '%00', '%ED%A0%80', '..', '.', '%2e%2e', '%2F', 'urn:uuid:6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55'),
    weight: 1,
  },
);

/** `text` with each lone surrogate replaced by U+FFFD, as any UTF-8 encoder writes it. */
export function wellFormed(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
