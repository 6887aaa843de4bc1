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
 * `devDefault` values apply only when `NODE_ENV` is set to something other
 * than `production`; elsewhere such a variable is required, and setting it
 * to the development default itself, or to any value marked `dev-only`, is refused.
 */
export function getConfig<S extends Spec>(schema: S, env: NodeJS.ProcessEnv = process.env): Clean<S> {
  if (isProduction(env)) refuseDevDefaults(schema, env);
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

/** The marker of the development values committed to the repository (.env.example, the k8s dev overlay). */
export const DEV_ONLY = 'dev-only';
const DEV_ONLY_MARKER = /dev-only/i;

function isDevDefaultValue(value: unknown): value is string | number | boolean {
  return (typeof value === 'string' && value !== '') || typeof value === 'number' || typeof value === 'boolean';
}

// A development default copied into a production environment is as bad as no value at all.
function refuseDevDefaults(schema: Spec, env: NodeJS.ProcessEnv): void {
  const problems = Object.entries(schema).flatMap(([name, spec]) => {
    const value = env[name];
    if (value === undefined) return [];
    if (isDevDefaultValue(spec.devDefault) && value === String(spec.devDefault))
      return [`${name} is the development default, which production refuses`];
    if (DEV_ONLY_MARKER.test(value)) return [`${name} holds a value marked "${DEV_ONLY}", which production refuses`];
    return [];
  });
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

/**
 * True unless `NODE_ENV` names another environment: an unset `NODE_ENV` is
 * production, so a forgotten setting never turns development defaults on.
 */
export function isProduction(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.NODE_ENV || env.NODE_ENV === 'production';
}

/**
 * One origin or a comma-separated list of them (`http://a:3002,http://b:3002`).
 * Only origins: a path would be silently dropped by the proxy, so it is refused instead.
 */
export function parseOriginList(name: string, value: string, problems: string[] = []): string[] {
  const origins: string[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      problems.push(`${name} is invalid: "${item}" is not a URL`);
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`${name} is invalid: "${item}" must be http or https`);
    else if (url.pathname !== '/' || url.search || url.hash || url.username || url.password)
      problems.push(`${name} is invalid: "${item}" must be an origin only (no path, query or credentials)`);
    else origins.push(url.origin);
  }
  if (origins.length === 0 && problems.length === 0) problems.push(`${name} is required but not set`);
  return origins;
}
