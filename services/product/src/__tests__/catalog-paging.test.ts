import { describe, expect, test } from 'vitest';
import { encodeCursor, parseCursor, SEARCH_COUNT_LIMIT, searchTotal } from '../catalog-paging.js';

const position = { createdAt: '2026-01-31T12:00:00.123456Z', id: '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55' };

describe('keyset cursors', () => {
  test('when a cursor is encoded, then it reads back as the same position and is URL-safe', () => {
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(parseCursor(cursor)).toEqual({ ok: true, value: position });
  });

  test.each([
    ['not base64url', 'a+b/c='],
    ['no separator', Buffer.from('2026-01-31T12:00:00.123456Z').toString('base64url')],
    ['milliseconds only', encodeCursor({ ...position, createdAt: '2026-01-31T12:00:00.123Z' })],
    ['an impossible date', encodeCursor({ ...position, createdAt: '2026-02-30T12:00:00.123456Z' })],
    ['an upper-case id', encodeCursor({ ...position, id: position.id.toUpperCase() })],
    ['a malformed id', encodeCursor({ ...position, id: 'x' })],
    ['a third part', Buffer.from(`${position.createdAt}~${position.id}~x`).toString('base64url')],
  ])('when the cursor has %s, then it is refused', (_case, raw) => {
    expect(parseCursor(raw)).toEqual({ ok: false, message: 'after must be the nextCursor of an earlier page' });
  });
});

describe('search totals', () => {
  test('when a search matched up to the limit, then the count is exact', () => {
    expect(searchTotal(0)).toEqual({ total: 0, capped: false });
    expect(searchTotal(SEARCH_COUNT_LIMIT)).toEqual({ total: SEARCH_COUNT_LIMIT, capped: false });
  });

  test('when a search matched more than the limit, then the total is the limit, flagged as a lower bound', () => {
    expect(searchTotal(SEARCH_COUNT_LIMIT + 1)).toEqual({ total: SEARCH_COUNT_LIMIT, capped: true });
  });
});
