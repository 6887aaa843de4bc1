import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsPermissions, type NatsClientRole } from '@mini/shared';
import { DEPLOYABLES, ROOT } from './deployables.js';

/** A `$NAME` reference in a nats-server config: resolved from the environment when the server starts. */
export class NatsVariable {
  constructor(readonly name: string) {}
}

export type NatsValue = string | NatsVariable | NatsValue[] | NatsMap;
export interface NatsMap {
  [key: string]: NatsValue;
}

/**
 * Reads the nats-server configuration format as far as the broker's config uses it: maps with
 * `:`, `=` or a space between key and value, arrays, quoted and bare strings, `$VAR` references,
 * `#` and `//` comments. Numbers and booleans stay strings; `include` is not followed.
 */
export function parseNatsConfig(text: string): NatsMap {
  let at = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, at).split('\n').length;
    throw new Error(`nats config line ${line}: ${what}`);
  };
  const skip = (newlines = true) => {
    for (;;) {
      const rest = text.slice(at);
      const space = (newlines ? /^[\s,;]+/ : /^[ \t]+/).exec(rest);
      if (space) at += space[0].length;
      else if (/^(#|\/\/)/.test(rest)) at += /^[^\n]*/.exec(rest)![0].length;
      else return;
    }
  };
  const word = (): string => {
    const match = /^[^\s,;:=[\]{}#"']+/.exec(text.slice(at)) ?? fail('expected a name or value');
    at += match[0].length;
    return match[0];
  };
  const quoted = (): string => {
    const quote = text[at];
    const end = text.indexOf(quote!, at + 1);
    if (end < 0) fail('unterminated string');
    const value = text.slice(at + 1, end);
    at = end + 1;
    return value;
  };
  const value = (): NatsValue => {
    skip(false);
    const next = text[at];
    if (next === '{') {
      at += 1;
      return entries('}');
    }
    if (next === '[') {
      at += 1;
      const items: NatsValue[] = [];
      for (;;) {
        skip();
        if (text[at] === ']') {
          at += 1;
          return items;
        }
        if (at >= text.length) fail('unterminated array');
        items.push(value());
      }
    }
    if (next === '"' || next === "'") return quoted();
    const bare = word();
    return bare.startsWith('$') ? new NatsVariable(bare.slice(1)) : bare;
  };
  const entries = (close: string | undefined): NatsMap => {
    const map: NatsMap = {};
    for (;;) {
      skip();
      if (close && text[at] === close) {
        at += 1;
        return map;
      }
      if (at >= text.length) return close ? fail(`missing ${close}`) : map;
      const key = text[at] === '"' || text[at] === "'" ? quoted() : word();
      skip(false);
      if (text[at] === ':' || text[at] === '=') at += 1;
      map[key] = value();
    }
  };
  return entries(undefined);
}

const isMap = (value: NatsValue | undefined): value is NatsMap =>
  typeof value === 'object' && !Array.isArray(value) && !(value instanceof NatsVariable);

/**
 * What a service's code does with events, read from its sources: the group it consumes as
 * (`SERVICE_GROUP`), the types it stores in its outbox (`enqueueEvent(client, 'type', ...)`,
 * `newOutboxEvent('type', ...)`) and the types it handles (`'type': handling(...)`). Its NATS user
 * is its deployable name.
 */
export function eventRoleOf(name: string): NatsClientRole {
  const deployable = DEPLOYABLES.find((d) => d.name === name);
  if (!deployable) throw new Error(`${name} is not in DEPLOYABLES`);
  const dir = join(ROOT, deployable.workspace, 'src');
  const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.split(/[\\/]/).includes('__tests__'))
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .join('\n');
  const all = (pattern: RegExp) => [...new Set([...sources.matchAll(pattern)].map((m) => m[1] as string))].sort();
  const group = /export const SERVICE_GROUP = '([^']+)'/.exec(sources)?.[1];
  if (!group) throw new Error(`${deployable.workspace}/src declares no SERVICE_GROUP, the consumer group of its events`);
  return {
    user: name,
    group,
    publishes: all(/(?:enqueueEvent(?:<[^>]*>)?\(\s*\w+\s*,|newOutboxEvent\()\s*'([^']+)'/g),
    consumes: all(/'([A-Za-z0-9_.-]+)':\s*handling\(/g),
  };
}

function allowList(where: string, rules: NatsValue | undefined, problems: string[]): string[] {
  // `publish: [...]` is shorthand for an allow list; an empty allow list would allow everything.
  const list = Array.isArray(rules) ? rules : isMap(rules) ? rules.allow : undefined;
  if (isMap(rules)) {
    for (const key of Object.keys(rules).filter((k) => k !== 'allow'))
      problems.push(`${where} has "${key}": only an allow list is expected`);
  }
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`${where} has no allow list, so it may use every subject`);
    return [];
  }
  return list.filter((item): item is string => typeof item === 'string');
}

/**
 * The broker config gives each service exactly its own user with exactly the permissions
 * natsPermissions() says it needs for what its code publishes and consumes, takes every password
 * from the environment, and has no other way in (no other user, no `no_auth_user`, no token).
 * Returns, per user, the environment variable holding its password.
 */
export function natsAuthorizationProblems(
  where: string,
  text: string,
  roles: readonly NatsClientRole[],
  namespace: string,
): { problems: string[]; passwordVariables: Map<string, string> } {
  const problems: string[] = [];
  const passwordVariables = new Map<string, string>();
  let config: NatsMap;
  try {
    config = parseNatsConfig(text);
  } catch (error) {
    return { problems: [`${where}: ${(error as Error).message}`], passwordVariables };
  }
  const authorization = config.authorization;
  const users = isMap(authorization) ? authorization.users : undefined;
  if (!isMap(authorization) || !Array.isArray(users))
    return {
      problems: [`${where}: no authorization.users, so anyone who reaches the broker may publish and consume anything`],
      passwordVariables,
    };
  for (const key of ['no_auth_user', 'accounts'])
    if (key in config) problems.push(`${where}: "${key}" is set; the services' users belong in authorization.users only`);
  for (const key of Object.keys(authorization).filter((k) => k !== 'users'))
    problems.push(`${where}: authorization.${key} is another way in besides the services' users`);

  const seen = new Set<string>();
  for (const entry of users) {
    const user = isMap(entry) && typeof entry.user === 'string' ? entry.user : undefined;
    if (!isMap(entry) || !user) {
      problems.push(`${where}: a user entry without a user name`);
      continue;
    }
    const at = `${where} user ${user}`;
    const role = roles.find((r) => r.user === user);
    if (!role) {
      problems.push(`${at}: no service talking to NATS is called so (${roles.map((r) => r.user).join(', ')})`);
      continue;
    }
    seen.add(user);
    if (entry.password instanceof NatsVariable) passwordVariables.set(user, entry.password.name);
    else problems.push(`${at}: the password must come from the environment ($VARIABLE), not be written in the file`);
    const permissions = entry.permissions;
    if (!isMap(permissions)) {
      problems.push(`${at}: no permissions, so it may publish and consume anything`);
      continue;
    }
    const needed = natsPermissions(namespace, role);
    for (const kind of ['publish', 'subscribe'] as const) {
      const allowed = allowList(`${at}: ${kind}`, permissions[kind], problems);
      for (const subject of needed[kind].filter((s) => !allowed.includes(s)))
        problems.push(`${at}: may not ${kind} ${subject}, which the service needs`);
      for (const subject of allowed.filter((s) => !needed[kind].includes(s)))
        problems.push(`${at}: may also ${kind} ${subject}, which the service does not need`);
    }
    for (const key of Object.keys(permissions).filter((k) => k !== 'publish' && k !== 'subscribe'))
      problems.push(`${at}: permissions.${key} is more than the service needs`);
  }
  for (const role of roles.filter((r) => !seen.has(r.user)))
    problems.push(`${where}: no user ${role.user}, so the broker refuses that service`);
  if (new Set(passwordVariables.values()).size < passwordVariables.size)
    problems.push(`${where}: two users take their password from the same variable`);
  return { problems, passwordVariables };
}
