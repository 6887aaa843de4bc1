/**
 * The steps most end-to-end tests begin with, through the gateway: sign up a shopper, sign in
 * as the seeded admin, put a product in the catalog, place an order.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { client, E2EStack } from './stack-fixture.js';

type Api = ReturnType<typeof client>;

/** A signed-in account: who it is and its token. */
export interface Session {
  id: string;
  username: string;
  password: string;
  role: 'user' | 'admin';
  token: string;
}

export const unique = () => randomUUID().slice(0, 8);

export function shopSteps(api: Api, stack: () => E2EStack) {
  async function register(prefix = 'shopper'): Promise<Session> {
    const username = `${prefix}_${unique()}`;
    const password = 'correct horse battery';
    const res = await api.post('/users/register', { username, password });
    expect(res.status, res.text).toBe(201);
    return { username, password, id: res.body.user.id, role: 'user', token: res.body.token };
  }

  async function signInAsAdmin(): Promise<Session> {
    const { username, password } = stack().admin;
    const res = await api.post('/users/login', { username, password });
    expect(res.status, res.text).toBe(200);
    expect(res.body.user.role).toBe('admin');
    return { username: res.body.user.username, password, id: res.body.user.id, role: 'admin', token: res.body.token };
  }

  async function createProduct(adminToken: string, fields: Record<string, unknown> = {}) {
    const res = await api.post(
      '/products',
      { name: `Test Lamp ${unique()}`, description: 'A lamp', price: 19.99, stock: 100, ...fields },
      { token: adminToken },
    );
    expect(res.status, res.text).toBe(201);
    return res.body.product as { id: string; name: string; description: string; price: number; stock: number; updatedAt: string };
  }

  async function placeOrder(token: string, productId: string) {
    const res = await api.post('/orders', { productId }, { token });
    expect(res.status, res.text).toBe(201);
    return res.body.order as { id: string; userId: string; status: string };
  }

  return { register, signInAsAdmin, createProduct, placeOrder };
}
