import { existsSync } from 'node:fs';
import { cleanEnv, EnvError, EnvMissingError, type ValidatorSpec } from 'envalid';

export { bool, host, num, port, str, url } from 'envalid';

/**
 * Loads `KEY=value` lines from the first existing file into `process.env`
 * without overwriting what the environment already sets.
 */
export function loadEnv({ files = ['.env'] }: { files?: string[] } = {}): void {
  for (const file of files) {
    if (existsSync(file)) {
      process.loadEnvFile(file);
      return;
    }
  }
}

/** Thrown by `getConfig` with one line that names each bad variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Spec = Record<string, ValidatorSpec<unknown>>;
type Clean<S extends Spec> = { readonly [K in keyof S]: S[K] extends ValidatorSpec<infer T> ? T : never };

/**
 * Reads and validates settings once, from `env` (default `process.env`).
 * `devDefault` values are ignored when `NODE_ENV=production`, so a secret
 * with only a development default becomes required there.
 */
export function getConfig<S extends Spec>(schema: S, env: NodeJS.ProcessEnv = process.env): Clean<S> {
  return cleanEnv(env, schema, {
    reporter: ({ errors }) => {
      const problems = Object.entries(errors).map(([name, error]) =>
        error instanceof EnvMissingError || (error instanceof EnvError && /missing/i.test(error.message))
          ? `${name} is required but not set`
          : `${name} is invalid: ${(error as Error).message}`,
      );
      if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
    },
  }) as unknown as Clean<S>;
}

/** True when the process runs with `NODE_ENV=production`. */
export function isProduction(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NODE_ENV === 'production';
}
