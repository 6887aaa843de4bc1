import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventEnvelope, EventHandler } from '../event-bus.js';

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves when `check` passes, tolerating the failures before that. */
export async function passes(check: () => Promise<void>): Promise<boolean> {
  return check().then(
    () => true,
    () => false,
  );
}

/** A handler that records every delivery, and the ids it has seen so far. */
export function recorder(onEvent?: (event: EventEnvelope, attempt: number) => Promise<void>) {
  const events: EventEnvelope[] = [];
  const handler: EventHandler = async (event) => {
    events.push(event);
    await onEvent?.(event, events.filter((seen) => seen.id === event.id).length);
  };
  return {
    events,
    handler,
    ids: () => events.map((event) => event.id),
    distinct: () => new Set(events.map((event) => event.id)).size,
    has: (event: EventEnvelope) => events.some((seen) => seen.id === event.id),
  };
}

let counter = 0;

/** A type and group no other test of the run uses, so tests never see each other's events. */
export function freshNames() {
  counter += 1;
  const tag = `${counter}${randomUUID().slice(0, 6)}`;
  return { type: `contract.t${tag}.happened`, group: `g${tag}`, otherGroup: `h${tag}` };
}

/** An envelope with a payload that exercises JSON round-tripping. */
export function envelopeOf(type: string, n = 0): EventEnvelope {
  return {
    id: randomUUID(),
    type,
    occurredAt: new Date().toISOString(),
    payload: { n, text: 'grüße "quoted" ✓', items: [{ productId: randomUUID(), quantity: 2 }], note: null },
  };
}

/** `url` with its host and port replaced by 127.0.0.1:`port` (to go through a proxy). */
export function viaPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

const DEFAULT_PORTS: Record<string, number> = { 'nats:': 4222, 'tls:': 4222, 'postgres:': 5432, 'postgresql:': 5432 };

/** The TCP address a broker URL points at. */
export function addressOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port ? Number(parsed.port) : (DEFAULT_PORTS[parsed.protocol] ?? 0) };
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
