import type { Caller } from '@mini/shared';

// Pure rules of ordering: money in integer cents, pricing and stock checks, status transitions,
// who may see what. No I/O here, so every rule is unit-tested on its own.

/** Every status an order can be in. */
export const ORDER_STATUSES = ['pending', 'confirmed', 'rejected', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** A new order waits for the product service to reserve its stock (stock.reserved / stock.rejected). */
export const NEW_ORDER_STATUS: OrderStatus = 'pending';

/** Why the product service could not reserve an order's stock, as the order shows it. */
export type RejectionReason =
  | { code: 'out_of_stock'; lines: { productId: string; requested: number; available: number }[] }
  | { code: 'product_unavailable'; productIds: string[] };

const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['confirmed', 'rejected', 'cancelled'],
  confirmed: ['cancelled'],
  rejected: [],
  cancelled: [],
};

/** True when an order may move from `from` to `to`. */
export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses an order may move to `to` from: the guard of a race-safe conditional UPDATE. */
export function statusesAllowing(to: OrderStatus): OrderStatus[] {
  return ORDER_STATUSES.filter((from) => canTransition(from, to));
}

// ---- money -----------------------------------------------------------------------------------

/**
 * An amount with at most 2 decimals (as JSON gives it: 19.99) in integer cents, or undefined when
 * it is not such an amount (negative, NaN, 3 decimals, too large to be exact).
 * `cents / 100` is the double nearest the decimal amount, as is the parsed JSON number, so the
 * equality is an exact "has at most 2 decimals" test.
 */
export function amountToCents(amount: number): number | undefined {
  if (!Number.isFinite(amount) || amount < 0) return undefined;
  const cents = Math.round(amount * 100);
  if (!Number.isSafeInteger(cents) || cents / 100 !== amount) return undefined;
  return cents;
}

/** Integer cents as the API's amount: a JSON number with at most 2 decimals (6017 -> 60.17). */
export function centsToAmount(cents: number): number {
  return cents / 100;
}

/** The total of one line in cents. */
export function lineTotalCents(unitPriceCents: number, quantity: number): number {
  return unitPriceCents * quantity;
}

/** The sum of amounts in cents: integer additions, so no floating-point drift. */
export function sumCents(amounts: readonly number[]): number {
  return amounts.reduce((sum, cents) => sum + cents, 0);
}

// ---- pricing an order --------------------------------------------------------------------------

/** A line as the caller asked for it. */
export interface RequestedLine {
  productId: string;
  quantity: number;
}

/** What the order needs to know about a product, as the catalog says now. */
export interface ProductSnapshot {
  id: string;
  name: string;
  priceCents: number;
  stock: number;
}

/** A priced line: name and unit price are snapshotted so history survives catalog edits. */
export interface PricedLine {
  productId: string;
  name: string;
  unitPriceCents: number;
  quantity: number;
  lineTotalCents: number;
}

export interface MissingProduct {
  index: number;
  productId: string;
}

export interface StockShortfall {
  index: number;
  productId: string;
  requested: number;
  available: number;
}

export type PricingResult =
  | { ok: true; lines: PricedLine[]; totalCents: number }
  | { ok: false; reason: 'unknown_products'; missing: MissingProduct[] }
  | { ok: false; reason: 'insufficient_stock'; shortfalls: StockShortfall[] }
  | { ok: false; reason: 'total_too_large' };

/** Lines whose productId already appeared on an earlier line (by index). */
export function findDuplicateLines(lines: readonly RequestedLine[]): MissingProduct[] {
  const seen = new Set<string>();
  const duplicates: MissingProduct[] = [];
  lines.forEach(({ productId }, index) => {
    if (seen.has(productId)) duplicates.push({ index, productId });
    seen.add(productId);
  });
  return duplicates;
}

/**
 * Prices the requested lines against the catalog: every product must exist (else
 * `unknown_products`), every quantity must be in stock (else `insufficient_stock`).
 * Stock is only checked here, so an obvious shortfall is an immediate 409: the product service
 * reserves it later (order.placed), and that alone decides.
 */
export function priceOrder(requested: readonly RequestedLine[], products: ReadonlyMap<string, ProductSnapshot>): PricingResult {
  const missing = requested.flatMap(({ productId }, index) => (products.has(productId) ? [] : [{ index, productId }]));
  if (missing.length > 0) return { ok: false, reason: 'unknown_products', missing };

  const lines: PricedLine[] = [];
  const shortfalls: StockShortfall[] = [];
  requested.forEach(({ productId, quantity }, index) => {
    const product = products.get(productId)!;
    if (quantity > product.stock) shortfalls.push({ index, productId, requested: quantity, available: product.stock });
    lines.push({
      productId,
      name: product.name,
      unitPriceCents: product.priceCents,
      quantity,
      lineTotalCents: lineTotalCents(product.priceCents, quantity),
    });
  });
  if (shortfalls.length > 0) return { ok: false, reason: 'insufficient_stock', shortfalls };

  const totalCents = sumCents(lines.map((line) => line.lineTotalCents));
  // Past 2^53 cents, integer arithmetic on doubles is no longer exact.
  if (!Number.isSafeInteger(totalCents)) return { ok: false, reason: 'total_too_large' };
  return { ok: true, lines, totalCents };
}

// ---- access ------------------------------------------------------------------------------------

function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** True when the caller may place, see or cancel orders of `userId`: themselves, or any as admin. */
export function mayActFor(caller: Caller, userId: string): boolean {
  return caller.role === 'admin' || sameId(caller.id, userId);
}
