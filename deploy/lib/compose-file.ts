import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';

/** The parts of a Compose service these checks read. */
export interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number)[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  networks?: string[] | Record<string, unknown>;
  volumes?: string[];
  read_only?: boolean;
  user?: string | number;
  command?: string | string[];
  cap_drop?: string[];
  security_opt?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { internal?: boolean } | null>;
  volumes?: Record<string, unknown>;
}

/** Reads `KEY=value` lines the way Compose reads `.env` (comments and blank lines skipped). */
/**
 * .env.example as the compose scripts turn it into .env: every value marked dev-only replaced
 * by a fresh random one (scripts/compose-lib.sh, fresh_env_from_example; the key-encryption key
 * gets 32 random bytes in base64), since the services run with NODE_ENV=production, which
 * refuses values marked dev-only.
 */
export function withFreshSecrets(text: string): string {
  return text
    .replace(
      /^SIGNING_KEY_ENCRYPTION_KEY=dev-only-[A-Za-z0-9._~-]*/m,
      () => `SIGNING_KEY_ENCRYPTION_KEY=${randomBytes(32).toString('base64')}`,
    )
    .replace(/=dev-only-[A-Za-z0-9._~-]*/g, () => `=${randomBytes(24).toString('hex')}`);
}

export function parseDotEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`not a KEY=value line: ${line}`);
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    env[line.slice(0, eq).trim()] = value;
  }
  return env;
}

/**
 * Compose's variable interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`. A required variable that is missing throws, as Compose does.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
      if (match === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const value = env[name as string];
      const missing = value === undefined || (colon === ':' && value === '');
      if (op === '-') return missing ? (arg ?? '') : value;
      if (op === '?') {
        if (missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
        return value;
      }
      return value ?? '';
    },
  );
}

/** compose.yaml as Compose sees it with the given `.env` values (YAML merge keys applied). */
export function loadCompose(yamlText: string, env: Record<string, string | undefined>): ComposeFile {
  const file = parse(interpolate(yamlText, env), { merge: true }) as ComposeFile;
  if (!file?.services) throw new Error('compose file has no services');
  return file;
}

/** A service's `environment`, in either of Compose's two forms, as strings. */
export function serviceEnvironment(service: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  const given = service.environment ?? {};
  if (Array.isArray(given)) {
    for (const item of given) {
      const eq = item.indexOf('=');
      if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else {
    for (const [key, value] of Object.entries(given)) if (value !== null && value !== undefined) env[key] = String(value);
  }
  return env;
}

/** The names a service's `networks` lists, in either form. */
export function serviceNetworks(service: ComposeService): string[] {
  if (!service.networks) return ['default'];
  return Array.isArray(service.networks) ? service.networks : Object.keys(service.networks);
}

/** What a backing container (broker, Redis) must not be: published, writable, privileged. */
export function lockedDownProblems(where: string, service: ComposeService): string[] {
  const problems: string[] = [];
  if ((service.ports ?? []).length > 0)
    problems.push(`${where}: publishes ${service.ports?.join(', ')}; only the gateway may be reachable from outside`);
  if (service.read_only !== true) problems.push(`${where}: the root filesystem is writable (read_only)`);
  if (!(service.cap_drop ?? []).includes('ALL')) problems.push(`${where}: capabilities are not dropped (cap_drop: ALL)`);
  if (!(service.security_opt ?? []).some((o) => /^no-new-privileges(:true)?$/.test(o)))
    problems.push(`${where}: no-new-privileges is not set`);
  return problems;
}
