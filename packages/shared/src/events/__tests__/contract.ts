import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startTcpProxy } from '../../testing/tcp-proxy.js';
import { createEventBus } from '../create-event-bus.js';
import type { EventBus, EventEnvelope } from '../event-bus.js';
import { addressOf, envelopeOf, freshNames, median, passes, recorder, viaPort, waitFor } from './contract-helpers.js';

/** Where the suite's buses connect; every bus of one suite run shares the namespace. */
export interface ContractBroker {
  url: string;
  namespace: string;
  /** Removes what the suite left on the broker. */
  cleanup(): Promise<void>;
}

/**
 * What every EventBus adapter promises, run against a real broker. Each test uses its own event
 * type and groups, so tests share the broker but never each other's events.
 */
export function describeEventBusContract(name: string, startBroker: () => Promise<ContractBroker>, { skip = false } = {}) {
  describe.skipIf(skip)(`${name} event bus contract`, () => {
    let broker: ContractBroker | undefined;
    const opened: Array<{ close(): Promise<void> }> = [];

    beforeAll(async () => {
      broker = await startBroker();
    });
    afterEach(async () => {
      await Promise.allSettled(
        opened
          .splice(0)
          .reverse()
          .map((resource) => resource.close()),
      );
    });
    afterAll(async () => {
      await broker?.cleanup();
    });

    async function openBus(url = broker!.url): Promise<EventBus> {
      const bus = await createEventBus({ url, name: 'contract-test', namespace: broker!.namespace });
      opened.push(bus);
      return bus;
    }

    async function publishAll(bus: EventBus, events: EventEnvelope[]) {
      await Promise.all(events.map((event) => bus.publish(event)));
    }

    test('when an event is published, then a subscriber of its type gets the same envelope, once', async () => {
      const { type, group } = freshNames();
      const other = freshNames();
      const bus = await openBus();
      const got = recorder();
      await bus.subscribe({ group, type, handler: got.handler });
      // Another group takes the other type, so publishing it is accepted by both adapters.
      await bus.subscribe({ group: other.group, type: other.type, handler: recorder().handler });
      const event = envelopeOf(type);
      const otherType = envelopeOf(other.type);
      const marker = envelopeOf(type, 1);

      await bus.publish(event);
      await bus.publish(otherType);
      await bus.publish(marker);
      await waitFor('the marker event', () => got.has(marker));

      expect(got.events).toEqual([event, marker]);
    });

    test('when two groups subscribe to a type, then each gets every event once', async () => {
      const { type, group, otherGroup } = freshNames();
      const bus = await openBus();
      const first = recorder();
      const second = recorder();
      await bus.subscribe({ group, type, handler: first.handler });
      await bus.subscribe({ group: otherGroup, type, handler: second.handler });
      const events = Array.from({ length: 50 }, (_, n) => envelopeOf(type, n));

      await publishAll(bus, events);
      await waitFor('50 distinct events in each group', () => first.distinct() === 50 && second.distinct() === 50);

      const sent = events.map((event) => event.id).sort();
      expect(first.ids().sort()).toEqual(sent);
      expect(second.ids().sort()).toEqual(sent);
    });

    test('when two replicas share a group, then each event reaches one of them', async () => {
      const { type, group } = freshNames();
      const [replicaA, replicaB, publisher] = [await openBus(), await openBus(), await openBus()];
      const a = recorder();
      const b = recorder();
      await replicaA.subscribe({ group, type, handler: a.handler });
      await replicaB.subscribe({ group, type, handler: b.handler });
      const events = Array.from({ length: 50 }, (_, n) => envelopeOf(type, n));

      await publishAll(publisher, events);
      await waitFor('50 distinct events across the replicas', () => new Set([...a.ids(), ...b.ids()]).size === 50);

      expect([...a.ids(), ...b.ids()].sort()).toEqual(events.map((event) => event.id).sort());
    });

    test('when a group comes back after being away, then it gets the events published meanwhile', async () => {
      const { type, group } = freshNames();
      const publisher = await openBus();
      const before = recorder();
      const subscription = await (await openBus()).subscribe({ group, type, handler: before.handler });
      await subscription.close();
      const events = Array.from({ length: 5 }, (_, n) => envelopeOf(type, n));

      await publishAll(publisher, events);
      const after = recorder();
      await (await openBus()).subscribe({ group, type, handler: after.handler });
      await waitFor('the 5 events published while away', () => after.distinct() === 5);

      expect(after.ids().sort()).toEqual(events.map((event) => event.id).sort());
      expect(before.events).toEqual([]);
    });

    // Decided for both adapters: nothing published before a group's first subscribe is lost. NATS
    // keeps it in the stream for the new group; the PostgreSQL bus refuses it while no group
    // exists, and the producer's outbox relay retries it until one does (as this loop does).
    test('when an event is published before any group subscribes, then the first subscriber still gets it', async () => {
      const { type, group } = freshNames();
      const bus = await openBus();
      const early = envelopeOf(type, 0);
      let stop = false;
      const relay = (async () => {
        while (!stop) {
          if (
            await bus.publish(early).then(
              () => true,
              () => false,
            )
          )
            return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const got = recorder();
      await bus.subscribe({ group, type, handler: got.handler });
      try {
        await waitFor('the event published before the first subscribe', () => got.has(early));
      } finally {
        stop = true;
        await relay;
      }
      expect(got.ids()).toEqual([early.id]);
    });

    test('when a handler throws, then the same event comes again after a short back-off', async () => {
      const { type, group } = freshNames();
      const bus = await openBus();
      const attempts: number[] = [];
      const got = recorder(async (_event, attempt) => {
        attempts.push(Date.now());
        if (attempt === 1) throw new Error('first attempt fails');
      });
      await bus.subscribe({ group, type, handler: got.handler });
      const event = envelopeOf(type);

      await bus.publish(event);
      await waitFor('the redelivery', () => got.events.length >= 2);

      expect(got.events).toEqual([event, event]);
      const backOff = attempts[1]! - attempts[0]!;
      expect(backOff).toBeGreaterThanOrEqual(300);
      expect(backOff).toBeLessThan(5_000);
    });

    test('when the same id is published twice, then it is delivered once, as first published', async () => {
      const { type, group } = freshNames();
      const bus = await openBus();
      const got = recorder();
      await bus.subscribe({ group, type, handler: got.handler });
      const event = envelopeOf(type, 1);
      const marker = envelopeOf(type, 3);

      await bus.publish(event);
      await bus.publish({ ...event, payload: { n: 2 } });
      await bus.publish(marker);
      await waitFor('the marker event', () => got.has(marker));

      expect(got.events).toEqual([event, marker]);
    });

    test('when the broker is cut off and comes back, then publish and check fail meanwhile and delivery resumes', async () => {
      const { type, group } = freshNames();
      const direct = await openBus();
      const proxy = await startTcpProxy({ target: addressOf(broker!.url) });
      opened.push(proxy);
      const bus = await openBus(viaPort(broker!.url, proxy.port));
      const got = recorder();
      await bus.subscribe({ group, type, handler: got.handler });
      const beforeOutage = envelopeOf(type, 0);
      await bus.publish(beforeOutage);
      await waitFor('the event before the outage', () => got.has(beforeOutage));

      await proxy.cut();
      const started = Date.now();
      await expect(bus.publish(envelopeOf(type, 1))).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect(bus.check()).rejects.toThrow();
      const duringOutage = envelopeOf(type, 2);
      await direct.publish(duringOutage);
      await proxy.restore();
      await waitFor('check() to pass again', () => passes(() => bus.check()), 15_000);
      const afterOutage = envelopeOf(type, 3);
      await bus.publish(afterOutage);

      await waitFor('the events published during and after the outage', () => got.has(duringOutage) && got.has(afterOutage), 15_000);
      expect(got.ids()).toEqual(expect.arrayContaining([beforeOutage.id, duringOutage.id, afterOutage.id]));
    }, 60_000);

    test('when the bus is closed while a handler runs, then close waits for it and the event is not delivered again', async () => {
      const { type, group } = freshNames();
      const bus = await openBus();
      let running = false;
      let finished = false;
      const first = recorder(async () => {
        running = true;
        await sleep(300);
        finished = true;
      });
      await bus.subscribe({ group, type, handler: first.handler });
      const event = envelopeOf(type, 0);
      await bus.publish(event);
      await waitFor('the handler to start', () => running);

      await bus.close();
      expect(finished).toBe(true);

      const replica = await openBus();
      const second = recorder();
      await replica.subscribe({ group, type, handler: second.handler });
      const marker = envelopeOf(type, 1);
      await replica.publish(marker);
      await waitFor('the marker event', () => second.has(marker));
      expect(second.ids()).toEqual([marker.id]);
    });

    test('when events are published one at a time, then the median publish-to-handler time is under a second', async () => {
      const { type, group } = freshNames();
      const bus = await openBus();
      const latencies: number[] = [];
      const got = recorder(async (event) => {
        latencies.push(Date.now() - Date.parse(event.occurredAt));
      });
      await bus.subscribe({ group, type, handler: got.handler });

      for (let n = 0; n < 20; n += 1) {
        const event = envelopeOf(type, n);
        await bus.publish(event);
        await waitFor(`event ${n}`, () => got.has(event));
      }

      expect(latencies).toHaveLength(20);
      expect(median(latencies)).toBeLessThan(1_000);
    }, 40_000);
  });
}
