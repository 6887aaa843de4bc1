import { describe, expect, test } from 'vitest';
import { ConfigError, getConfig, num, port, str } from '../config.js';

const schema = {
  PORT: port({ default: 3001 }),
  TIMEOUT_MS: num({ default: 2000 }),
  DATABASE_URL: str({ devDefault: 'postgres://dev:dev@127.0.0.1:5432/dev_db' }),
};

describe('getConfig', () => {
  test('when nothing is set in development, then defaults and dev defaults apply', () => {
    const config = getConfig(schema, { NODE_ENV: 'development' });
    expect(config).toMatchObject({ PORT: 3001, TIMEOUT_MS: 2000, DATABASE_URL: 'postgres://dev:dev@127.0.0.1:5432/dev_db' });
  });

  test('when a value is set, then it is parsed', () => {
    expect(getConfig(schema, { NODE_ENV: 'development', PORT: '4000', TIMEOUT_MS: '50' })).toMatchObject({ PORT: 4000, TIMEOUT_MS: 50 });
  });

  test('when a value is invalid, then one line names the variable', () => {
    expect(() => getConfig(schema, { NODE_ENV: 'development', PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => getConfig(schema, { NODE_ENV: 'development', PORT: 'eighty' })).toThrow(/^Invalid configuration: PORT is invalid/);
  });

  test('when NODE_ENV is not set, then it counts as production: no dev defaults', () => {
    expect(() => getConfig(schema, {})).toThrow('Invalid configuration: DATABASE_URL is required but not set');
    expect(() => getConfig(schema, { DATABASE_URL: 'postgres://dev:dev@127.0.0.1:5432/dev_db' })).toThrow(/development default/);
  });

  test('when production lacks a value that only has a dev default, then it is required', () => {
    expect(() => getConfig(schema, { NODE_ENV: 'production' })).toThrow('Invalid configuration: DATABASE_URL is required but not set');
  });

  test('when production is given the dev default itself, then it is refused', () => {
    expect(() => getConfig(schema, { NODE_ENV: 'production', DATABASE_URL: 'postgres://dev:dev@127.0.0.1:5432/dev_db' })).toThrow(
      /DATABASE_URL is the development default/,
    );
  });

  test('when production is given a value marked dev-only (committed for Compose or the k8s dev overlay), then it is refused', () => {
    const marked = 'postgres://app:dev-only-db-password@db:5432/app';
    expect(() => getConfig(schema, { NODE_ENV: 'production', DATABASE_URL: marked })).toThrow(
      /DATABASE_URL holds a value marked "dev-only"/,
    );
    expect(getConfig(schema, { NODE_ENV: 'development', DATABASE_URL: marked }).DATABASE_URL).toBe(marked);
  });

  test('when production sets a real value, then it is used', () => {
    expect(getConfig(schema, { NODE_ENV: 'production', DATABASE_URL: 'postgres://svc:s3cret@db:5432/app' }).DATABASE_URL).toBe(
      'postgres://svc:s3cret@db:5432/app',
    );
  });
});

describe('createLogger', () => {
  test('when LOG_LEVEL is not a level, then the logger still starts (the config check names the variable)', async () => {
    const { createLogger } = await import('../logger.js');
    const previous = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'bogus';
    try {
      expect(createLogger('test').level).toBe('info');
      expect(createLogger('test', { level: 'warn' }).level).toBe('warn');
    } finally {
      if (previous === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = previous;
    }
  });
});
