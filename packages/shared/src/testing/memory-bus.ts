import type { EventBus, EventEnvelope, EventHandler, Subscription } from '../events/event-bus.js';

/**
 * An in-process event bus for component tests: every published event goes to one subscriber of
 * each group, `deliveries` times at once (2 = every event delivered twice, concurrently), and a
 * handler that throws gets it again after `retryMs`. `published` records what went through.
 */
export function createMemoryBus({ deliveries = 1, retryMs = 20 }: { deliveries?: number; retryMs?: number } = {}): EventBus & {
  published: EventEnvelope[];
  /** Resolves once every delivery so far has been handled (acknowledged). */
  idle(): Promise<void>;
} {
  const groups = new Map<string, { type: string; handler: EventHandler }>();
  const published: EventEnvelope[] = [];
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const deliver = (event: EventEnvelope, handler: EventHandler) => {
    const attempt: Promise<void> = handler(event).catch(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            if (!closed) deliver(event, handler);
            resolve();
          }, retryMs),
        ),
    );
    inFlight.add(attempt);
    void attempt.finally(() => inFlight.delete(attempt));
  };

  return {
    published,
    async publish(event) {
      if (closed) throw new Error('bus closed');
      published.push(event);
      for (const { type, handler } of groups.values()) {
        if (type !== event.type) continue;
        for (let i = 0; i < deliveries; i++) deliver(event, handler);
      }
    },
    async subscribe({ group, type, handler }): Promise<Subscription> {
      const key = `${group}:${type}`;
      groups.set(key, { type, handler });
      return { close: async () => void groups.delete(key) };
    },
    async check() {
      if (closed) throw new Error('bus closed');
    },
    async close() {
      closed = true;
      groups.clear();
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
