// The names both buses accept, so a service moves between brokers unchanged: a NATS stream and
// subject prefix or a PostgreSQL schema (namespace), a durable consumer (group), a subject (type).
const PATTERNS = {
  namespace: /^[A-Za-z_][A-Za-z0-9_]{0,49}$/,
  group: /^[A-Za-z0-9_-]+$/,
  type: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
} as const;

/** Throws unless `value` is a valid event bus `kind` name. */
export function assertEventName(kind: keyof typeof PATTERNS, value: string): void {
  if (!PATTERNS[kind].test(value))
    throw new Error(`event ${kind === 'namespace' ? 'bus namespace' : kind} must match ${String(PATTERNS[kind])}`);
}
