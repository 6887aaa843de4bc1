// Pure catalog rules: no I/O, unit-tested in __tests__/rules.test.ts.

/** The highest price accepted: 1,000,000.00 in cents. */
export const MAX_PRICE_CENTS = 100_000_000;

/** How many ids one `GET /products?ids=` may ask for. */
export const MAX_IDS_PER_LOOKUP = 100;

/** The result of a rule that may reject its input with a message naming the field. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const PRICE_SHAPE_MESSAGE = 'price must be a non-negative decimal number such as 19.99 (a JSON number or a numeric string)';

// A plain decimal: optional sign, digits, optional fraction. No exponent, hex, NaN or Infinity.
const PLAIN_DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
// How JS writes very small or large numbers: 1e-7, 1.5e+21.
const EXPONENT_FORM = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/;

/**
 * Turns a price as a client sent it (a JSON number or a numeric string) into
 * integer cents, rounding half-up on the DECIMAL digits (1.005 -> 101, not the
 * 100 binary floating point would give). Rejects negative values, values over
 * 1,000,000.00 after rounding, and anything that is not a plain decimal.
 */
export function parsePrice(value: unknown): Parsed<number> {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, message: PRICE_SHAPE_MESSAGE };
    // The shortest decimal that round-trips to this double is what the client wrote.
    text = numberToPlainDecimal(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return { ok: false, message: 'price must be a number or a numeric string' };
  }

  const match = PLAIN_DECIMAL.exec(text);
  const sign = match?.[1] ?? '';
  const whole = match?.[2] ?? '';
  const fraction = match?.[3] ?? '';
  if (!match || (whole === '' && fraction === '')) return { ok: false, message: PRICE_SHAPE_MESSAGE };
  if (sign === '-' && /[1-9]/.test(whole + fraction)) return { ok: false, message: 'price must not be negative' };

  const cents = roundHalfUpToCents(whole, fraction);
  if (cents > BigInt(MAX_PRICE_CENTS)) return { ok: false, message: 'price must be at most 1000000.00' };
  return { ok: true, value: Number(cents) };
}

/** Rounds the non-negative decimal `whole.fraction` half-up to whole cents, exactly. */
function roundHalfUpToCents(whole: string, fraction: string): bigint {
  const cents = BigInt((whole || '0') + fraction.padEnd(2, '0').slice(0, 2));
  const nextDigit = fraction.charAt(2);
  return nextDigit >= '5' ? cents + 1n : cents;
}

/**
 * Writes a finite number as a plain decimal string without an exponent
 * (1e-7 -> "0.0000001", 1e21 -> "1000000000000000000000"), keeping exactly
 * the digits `String(value)` gives.
 */
export function numberToPlainDecimal(value: number): string {
  const text = String(value);
  const match = EXPONENT_FORM.exec(text);
  if (!match) return text;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const digits = whole + fraction;
  const point = whole.length + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A product name as stored: trimmed, and not blank (the schema has bounded its length). */
export function normalizeName(name: string): Parsed<string> {
  const trimmed = name.trim();
  return trimmed === '' ? { ok: false, message: 'name must not be blank' } : { ok: true, value: trimmed };
}

/** Cents as the API's JSON amount: 1999 -> 19.99, 2000 -> 20. */
export function centsToPrice(cents: number): number {
  // Integer / 100 is the double nearest to the 2-decimal amount, which JSON prints exactly.
  return cents / 100;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const URN_PREFIX = /^urn:uuid:/i;

/**
 * A UUID as PostgreSQL accepts it, lower-cased: the `urn:uuid:` form that
 * JSON Schema's `uuid` format allows is unwrapped (PostgreSQL refuses it).
 */
export function normalizeUuid(id: string): string {
  return id.replace(URN_PREFIX, '').toLowerCase();
}

/**
 * Parses `ids=a,b,c` into 1..100 distinct, normalised UUIDs. Blanks around
 * each id are ignored; an empty entry, a malformed id or too many ids is an error.
 */
export function parseIdList(raw: string): Parsed<string[]> {
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_IDS_PER_LOOKUP) {
    return { ok: false, message: `ids must list at most ${MAX_IDS_PER_LOOKUP} ids (got ${entries.length})` };
  }
  const ids = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const id = normalizeUuid(entry);
    if (!UUID.test(id)) {
      return { ok: false, message: `ids must be comma-separated UUIDs: entry ${index + 1} ${entry === '' ? 'is empty' : 'is not a UUID'}` };
    }
    ids.add(id);
  }
  return { ok: true, value: [...ids] };
}

/**
 * `q` as a LIKE pattern matching it as a substring, literally: `%`, `_` and
 * `\` in the search text are escaped (PostgreSQL's default LIKE escape is `\`).
 */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

// ---- stock reservations (the order saga) -------------------------------------------------------

/** A quantity of one product an order wants. */
export interface StockLine {
  productId: string;
  quantity: number;
}

/** Why an order's stock could not be reserved, as the order will show it. */
export type RejectionReason =
  | { code: 'out_of_stock'; lines: { productId: string; requested: number; available: number }[] }
  | { code: 'product_unavailable'; productIds: string[] };

export type ReservationPlan = { ok: true; lines: StockLine[] } | { ok: false; reason: RejectionReason };

/**
 * One line per product (lines of one product summed), in id order: the order rows are locked
 * and updated in, so two reservations never wait on each other's rows crosswise (no deadlock).
 */
export function sumLinesByProduct(lines: readonly StockLine[]): StockLine[] {
  const totals = new Map<string, number>();
  for (const { productId, quantity } of lines) {
    const id = productId.toLowerCase();
    totals.set(id, (totals.get(id) ?? 0) + quantity);
  }
  return [...totals].map(([productId, quantity]) => ({ productId, quantity })).sort((a, b) => (a.productId < b.productId ? -1 : 1));
}

/**
 * All lines or none: the lines to take from stock when every product exists and has enough,
 * else why not (missing products first: no amount of waiting makes them sellable).
 */
export function planReservation(lines: readonly StockLine[], stockById: ReadonlyMap<string, number>): ReservationPlan {
  const wanted = sumLinesByProduct(lines);
  const missing = wanted.filter((line) => !stockById.has(line.productId)).map((line) => line.productId);
  if (missing.length > 0) return { ok: false, reason: { code: 'product_unavailable', productIds: missing } };
  const short = wanted
    .filter((line) => line.quantity > stockById.get(line.productId)!)
    .map((line) => ({ productId: line.productId, requested: line.quantity, available: stockById.get(line.productId)! }));
  if (short.length > 0) return { ok: false, reason: { code: 'out_of_stock', lines: short } };
  return { ok: true, lines: wanted };
}
