import { describe, expect, test } from 'vitest';
import { configSchema, loadConfig } from '../config.js';

const dev = { NODE_ENV: 'development' };

describe('loadConfig', () => {
  test('when nothing else is set in development, then the documented defaults apply and JWKS_URL follows USER_SERVICE_URL', () => {
    expect(loadConfig(dev)).toMatchObject({
      PORT: 3002,
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/product_db',
      JWT_ISSUER: 'mini-ecommerce-user-service',
      JWT_AUDIENCE: 'mini-ecommerce',
      USER_SERVICE_URL: 'http://127.0.0.1:3001',
      JWKS_URL: 'http://127.0.0.1:3001/.well-known/jwks.json',
    });
    expect(loadConfig({ ...dev, USER_SERVICE_URL: 'http://user-service:3001/' }).JWKS_URL).toBe(
      'http://user-service:3001/.well-known/jwks.json',
    );
  });

  test('when JWKS_URL is set, then it wins', () => {
    expect(loadConfig({ ...dev, JWKS_URL: 'https://keys.example/jwks.json' }).JWKS_URL).toBe('https://keys.example/jwks.json');
  });

  test('when NODE_ENV is production or unset and DATABASE_URL is missing, then one line names it', () => {
    for (const env of [{ NODE_ENV: 'production' }, {}]) {
      expect(() => loadConfig(env)).toThrow(
        'Invalid configuration: DATABASE_URL is required but not set; EVENT_BUS_URL is required but not set',
      );
    }
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://svc:pw@db:5432/product_db',
      EVENT_BUS_URL: 'nats://nats:4222',
    });
    expect(config.DATABASE_URL).toBe('postgres://svc:pw@db:5432/product_db');
  });

  test('CATALOG_MAX_AGE_SECONDS: 1 unless set; 0 or whole seconds, anything else is named', () => {
    expect(loadConfig(dev).CATALOG_MAX_AGE_SECONDS).toBe(1);
    expect(loadConfig({ ...dev, CATALOG_MAX_AGE_SECONDS: '0' }).CATALOG_MAX_AGE_SECONDS).toBe(0);
    for (const bad of ['-1', '0.5'])
      expect(() => loadConfig({ ...dev, CATALOG_MAX_AGE_SECONDS: bad })).toThrow('CATALOG_MAX_AGE_SECONDS is invalid');
  });

  test('when a value is invalid, then it is named', () => {
    expect(() => loadConfig({ ...dev, PORT: 'abc' })).toThrow(/PORT is invalid/);
    expect(() => loadConfig({ ...dev, JWKS_URL: 'not a url' })).toThrow(/JWKS_URL is invalid/);
  });

  test('only DATABASE_URL and EVENT_BUS_URL lack a plain default: the values a deployment must set', () => {
    const withoutDefault = Object.entries(configSchema)
      .filter(([, spec]) => !('default' in spec))
      .map(([name]) => name);
    expect(withoutDefault).toEqual(['DATABASE_URL', 'EVENT_BUS_URL']);
  });
});
