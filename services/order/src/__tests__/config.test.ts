import { describe, expect, test } from 'vitest';
import { configSchema, loadConfig } from '../config.js';

const dev = { NODE_ENV: 'development' };

describe('loadConfig', () => {
  test('when only NODE_ENV=development is set, then the development defaults of the conventions', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config).toMatchObject({
      PORT: 3003,
      HOST: '0.0.0.0',
      NODE_ENV: 'development',
      DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/order_db',
      USER_SERVICE_URL: 'http://127.0.0.1:3001',
      JWKS_URL: 'http://127.0.0.1:3001/.well-known/jwks.json',
      PRODUCT_SERVICE_URL: 'http://127.0.0.1:3002',
      PRODUCT_TIMEOUT_MS: 2000,
      JWT_ISSUER: 'mini-ecommerce-user-service',
      JWT_AUDIENCE: 'mini-ecommerce',
    });
  });

  test('when JWKS_URL is set, then it wins over the one derived from USER_SERVICE_URL', () => {
    expect(loadConfig({ ...dev, USER_SERVICE_URL: 'http://users:3001/', JWKS_URL: '' }).JWKS_URL).toBe(
      'http://users:3001/.well-known/jwks.json',
    );
    expect(loadConfig({ ...dev, JWKS_URL: 'http://keys/jwks.json' }).JWKS_URL).toBe('http://keys/jwks.json');
  });

  test('when NODE_ENV is unset, then it counts as production: DATABASE_URL is required', () => {
    expect(() => loadConfig({})).toThrow('DATABASE_URL is required but not set');
  });

  test('when NODE_ENV is production, then DATABASE_URL has no default', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow('DATABASE_URL is required but not set');
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/order_db' })).toThrow(
      'EVENT_BUS_URL is required but not set',
    );
    const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/order_db', EVENT_BUS_URL: 'nats://nats:4222' });
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://db/order_db',
      EVENT_BUS_URL: 'nats://nats:4222',
      EVENT_BUS_NAMESPACE: 'events',
    });
  });

  test.each([
    [{ PORT: 'x' }, /PORT is invalid/],
    [{ PRODUCT_TIMEOUT_MS: '0' }, /PRODUCT_TIMEOUT_MS is invalid/],
    [{ PRODUCT_TIMEOUT_MS: 'soon' }, /PRODUCT_TIMEOUT_MS is invalid/],
    [{ PRODUCT_SERVICE_URL: 'not a url' }, /PRODUCT_SERVICE_URL is invalid/],
    [{ JWKS_URL: 'not a url' }, /JWKS_URL is invalid/],
  ])('when %o, then one clear error naming the variable', (env, message) => {
    expect(() => loadConfig({ ...dev, ...env })).toThrow(message);
  });

  test('configSchema: only DATABASE_URL and EVENT_BUS_URL lack a plain default (deployments must set it)', () => {
    const withoutDefault = Object.entries(configSchema)
      .filter(([, spec]) => !('default' in spec))
      .map(([name]) => name);
    expect(withoutDefault).toEqual(['DATABASE_URL', 'EVENT_BUS_URL']);
  });
});
