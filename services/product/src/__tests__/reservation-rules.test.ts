import { describe, expect, test } from 'vitest';
import { planReservation, sumLinesByProduct } from '../rules.js';

const A = 'aaaaaaaa-0000-4000-8000-000000000000';
const B = 'bbbbbbbb-0000-4000-8000-000000000000';
const C = 'cccccccc-0000-4000-8000-000000000000';

describe('sumLinesByProduct', () => {
  test('when lines name one product twice (in any case), then they are summed, and the result is in id order', () => {
    expect(
      sumLinesByProduct([
        { productId: C, quantity: 1 },
        { productId: A, quantity: 2 },
        { productId: A.toUpperCase(), quantity: 3 },
        { productId: B, quantity: 4 },
      ]),
    ).toEqual([
      { productId: A, quantity: 5 },
      { productId: B, quantity: 4 },
      { productId: C, quantity: 1 },
    ]);
  });
});

describe('planReservation', () => {
  const stock = new Map([
    [A, 5],
    [B, 1],
  ]);

  test('when every product has enough, then the summed lines to take', () => {
    expect(
      planReservation(
        [
          { productId: B, quantity: 1 },
          { productId: A, quantity: 5 },
        ],
        stock,
      ),
    ).toEqual({
      ok: true,
      lines: [
        { productId: A, quantity: 5 },
        { productId: B, quantity: 1 },
      ],
    });
  });

  test('when one line is short, then none is taken and only the short one is named', () => {
    expect(
      planReservation(
        [
          { productId: A, quantity: 5 },
          { productId: B, quantity: 2 },
        ],
        stock,
      ),
    ).toEqual({
      ok: false,
      reason: { code: 'out_of_stock', lines: [{ productId: B, requested: 2, available: 1 }] },
    });
  });

  test('when lines of one product are each in stock but not together, then out_of_stock with the sum', () => {
    expect(
      planReservation(
        [
          { productId: A, quantity: 3 },
          { productId: A, quantity: 3 },
        ],
        stock,
      ),
    ).toEqual({
      ok: false,
      reason: { code: 'out_of_stock', lines: [{ productId: A, requested: 6, available: 5 }] },
    });
  });

  test('when a product is gone as well as another short, then product_unavailable wins (waiting cannot help)', () => {
    expect(
      planReservation(
        [
          { productId: B, quantity: 9 },
          { productId: C, quantity: 1 },
        ],
        stock,
      ),
    ).toEqual({
      ok: false,
      reason: { code: 'product_unavailable', productIds: [C] },
    });
  });

  test('when the stock is exactly the quantity, then it is reserved (the boundary)', () => {
    expect(planReservation([{ productId: B, quantity: 1 }], stock).ok).toBe(true);
  });
});
