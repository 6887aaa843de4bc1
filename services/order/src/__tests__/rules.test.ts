import { describe, expect, test } from 'vitest';
import {
  amountToCents,
  canTransition,
  centsToAmount,
  findDuplicateLines,
  lineTotalCents,
  mayActFor,
  ORDER_STATUSES,
  priceOrder,
  statusesAllowing,
  sumCents,
  type ProductSnapshot,
} from '../rules.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';

function catalog(...products: ProductSnapshot[]): Map<string, ProductSnapshot> {
  return new Map(products.map((product) => [product.id, product]));
}

describe('money', () => {
  test('amountToCents: when the amount has at most 2 decimals, then its exact cents', () => {
    expect(amountToCents(19.99)).toBe(1999);
    expect(amountToCents(0.1)).toBe(10);
    expect(amountToCents(0.29)).toBe(29); // 0.29 * 100 is 28.999999999999996 in binary floating point
    expect(amountToCents(1.15)).toBe(115); // 1.15 * 100 is 114.99999999999999
    expect(amountToCents(0)).toBe(0);
    expect(amountToCents(99_999_999.99)).toBe(9_999_999_999);
  });

  test('amountToCents: when every 2-decimal amount up to 10,000.00 goes in, then exactly its cents come out', () => {
    for (let cents = 0; cents <= 1_000_000; cents += 1) {
      if (amountToCents(Number((cents / 100).toFixed(2))) !== cents) throw new Error(`wrong cents for ${cents}`);
    }
  });

  test('amountToCents: when the amount is not a 2-decimal amount, then undefined', () => {
    for (const amount of [0.1 + 0.2, 19.999, 1.005, -1, -0.01, Number.NaN, Number.POSITIVE_INFINITY, 1e300]) {
      expect(amountToCents(amount), String(amount)).toBeUndefined();
    }
  });

  test('centsToAmount: when cents are turned back, then the JSON reads with 2 decimals at most', () => {
    expect(JSON.stringify(centsToAmount(6017))).toBe('60.17');
    expect(JSON.stringify(centsToAmount(30))).toBe('0.3');
    expect(JSON.stringify(centsToAmount(1000))).toBe('10');
  });

  test('sumCents: when 0.10 and 0.20 are added in cents, then exactly 0.30 (no float drift)', () => {
    expect(0.1 + 0.2).not.toBe(0.3); // the drift this rule avoids
    expect(sumCents([amountToCents(0.1)!, amountToCents(0.2)!])).toBe(30);
    expect(centsToAmount(sumCents([10, 20]))).toBe(0.3);
  });

  test('sumCents: when ten lines of 0.10 are summed, then exactly 1.00', () => {
    expect(centsToAmount(sumCents(Array.from({ length: 10 }, () => 10)))).toBe(1);
    expect(sumCents([])).toBe(0);
  });

  test('lineTotalCents: unit price times quantity, in cents', () => {
    expect(lineTotalCents(1999, 3)).toBe(5997);
    expect(lineTotalCents(0, 1000)).toBe(0);
  });
});

describe('priceOrder', () => {
  test('when every product exists and is in stock, then lines snapshot name and price and the total is 60.17', () => {
    const result = priceOrder(
      [
        { productId: A, quantity: 3 },
        { productId: B, quantity: 2 },
      ],
      catalog({ id: A, name: 'Mug', priceCents: 1999, stock: 3 }, { id: B, name: 'Sticker', priceCents: 10, stock: 50 }),
    );
    expect(result).toEqual({
      ok: true,
      lines: [
        { productId: A, name: 'Mug', unitPriceCents: 1999, quantity: 3, lineTotalCents: 5997 },
        { productId: B, name: 'Sticker', unitPriceCents: 10, quantity: 2, lineTotalCents: 20 },
      ],
      totalCents: 6017,
    });
  });

  test('when products are missing, then unknown_products names each with its line', () => {
    const result = priceOrder(
      [
        { productId: A, quantity: 1 },
        { productId: B, quantity: 1 },
        { productId: C, quantity: 1 },
      ],
      catalog({ id: B, name: 'Sticker', priceCents: 10, stock: 50 }),
    );
    expect(result).toEqual({
      ok: false,
      reason: 'unknown_products',
      missing: [
        { index: 0, productId: A },
        { index: 2, productId: C },
      ],
    });
  });

  test('when a quantity is over the stock, then insufficient_stock with requested and available', () => {
    const result = priceOrder(
      [
        { productId: A, quantity: 3 },
        { productId: B, quantity: 51 },
      ],
      catalog({ id: A, name: 'Mug', priceCents: 1999, stock: 3 }, { id: B, name: 'Sticker', priceCents: 10, stock: 50 }),
    );
    expect(result).toEqual({
      ok: false,
      reason: 'insufficient_stock',
      shortfalls: [{ index: 1, productId: B, requested: 51, available: 50 }],
    });
  });

  test('when a product is both missing and others short, then missing products are reported first', () => {
    const result = priceOrder(
      [
        { productId: A, quantity: 5 },
        { productId: C, quantity: 1 },
      ],
      catalog({ id: A, name: 'Mug', priceCents: 1999, stock: 0 }),
    );
    expect(result).toMatchObject({ ok: false, reason: 'unknown_products' });
  });

  test('when the total passes 2^53 cents, then total_too_large', () => {
    const huge = 2 ** 52;
    const result = priceOrder([{ productId: A, quantity: 3 }], catalog({ id: A, name: 'Yacht', priceCents: huge, stock: 10 }));
    expect(result).toEqual({ ok: false, reason: 'total_too_large' });
  });
});

describe('findDuplicateLines', () => {
  test('when a product repeats, then each repeat is reported with its line index', () => {
    expect(
      findDuplicateLines([
        { productId: A, quantity: 1 },
        { productId: B, quantity: 1 },
        { productId: A, quantity: 2 },
        { productId: A, quantity: 3 },
      ]),
    ).toEqual([
      { index: 2, productId: A },
      { index: 3, productId: A },
    ]);
    expect(findDuplicateLines([{ productId: A, quantity: 1 }])).toEqual([]);
  });
});

describe('status transitions', () => {
  test('the allowed transitions, and no others', () => {
    const allowed = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(['confirmed->cancelled', 'pending->cancelled', 'pending->confirmed', 'pending->rejected']);
  });

  test('statusesAllowing: cancellation from pending or confirmed only', () => {
    expect(statusesAllowing('cancelled')).toEqual(['pending', 'confirmed']);
    expect(statusesAllowing('confirmed')).toEqual(['pending']);
    expect(statusesAllowing('pending')).toEqual([]);
  });
});

describe('mayActFor', () => {
  test('a user for themselves (whatever the id case), an admin for anyone, a user not for others', () => {
    expect(mayActFor({ id: A, username: 'u', role: 'user' }, A)).toBe(true);
    expect(mayActFor({ id: A, username: 'u', role: 'user' }, A.toUpperCase())).toBe(true);
    expect(mayActFor({ id: A, username: 'u', role: 'user' }, B)).toBe(false);
    expect(mayActFor({ id: A, username: 'a', role: 'admin' }, B)).toBe(true);
  });
});
