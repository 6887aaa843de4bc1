import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createEventBus } from '../create-event-bus.js';
import type { EventBus, EventBusOptions } from '../event-bus.js';
import { natsDurableName, natsInboxPrefix } from '../nats-permissions.js';
import { envelopeOf, recorder, waitFor } from './contract-helpers.js';
import { findNatsServer, startPrivateNats, type PrivateNats } from './private-nats.js';

// The broker's authorization exactly as deployed: the file Compose mounts and Kubernetes puts in
// a ConfigMap, with the passwords handed in the way both do it (env, single-quoted).
const CONFIG = join(import.meta.dirname, '..', '..', '..', '..', '..', 'k8s', 'base', 'nats.conf');
const NAMESPACE = 'events';
const STREAM = 'EVENTS';

const binary = findNatsServer();
// CI has nats-server (scripts/ensure-nats.sh installs it) and must run this; elsewhere it may step aside.
const skip = !binary && process.env.CI !== 'true';
if (skip) console.warn('nats-permissions.test.ts skipped: no nats-server binary on the PATH or in /usr/sbin (apt-get install nats-server)');

interface Role {
  user: string;
  passwordVariable: string;
  publishes: string[];
}
const ORDER: Role = {
  user: 'order-service',
  passwordVariable: 'NATS_ORDER_SERVICE_PASSWORD',
  publishes: ['order.placed', 'order.cancelled'],
};
const PRODUCT: Role = {
  user: 'product-service',
  passwordVariable: 'NATS_PRODUCT_SERVICE_PASSWORD',
  publishes: ['stock.reserved', 'stock.rejected'],
};

// Passwords that start like a number (1e5...): nats-server would read an unquoted one as a float.
const passwords = new Map([ORDER, PRODUCT].map((role) => [role.user, `1e5${randomBytes(16).toString('hex')}`]));
const passwordOf = (role: Role) => passwords.get(role.user)!;

describe.skipIf(skip)('NATS permissions of the deployed broker config (k8s/base/nats.conf)', () => {
  let nats: PrivateNats;
  const opened: { close(): Promise<unknown> }[] = [];

  beforeAll(async () => {
    if (!binary) throw new Error('CI=true but no nats-server binary: install it (apt-get install nats-server)');
    const env = Object.fromEntries([ORDER, PRODUCT].map((role) => [role.passwordVariable, `'${passwordOf(role)}'`]));
    nats = await startPrivateNats(binary, CONFIG, env);
    // The stream, as the first service to start leaves it.
    const bus = await createEventBus({ url: nats.url, name: 'setup', namespace: NAMESPACE, user: ORDER.user, password: passwordOf(ORDER) });
    await bus.close();
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
    await nats?.stop();
  });

  async function openBus(role: Role, options: Partial<EventBusOptions> = {}): Promise<EventBus> {
    const bus = await createEventBus({
      url: nats.url,
      name: role.user,
      namespace: NAMESPACE,
      user: role.user,
      password: passwordOf(role),
      ...options,
    });
    opened.push(bus);
    return bus;
  }

  /** A plain client with the role's credentials, for what the bus never does. */
  async function connectAs(role: Role): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
    const nc = await connect({
      servers: nats.url.replace('nats://', ''),
      user: role.user,
      pass: passwordOf(role),
      inboxPrefix: natsInboxPrefix(role.user),
    });
    opened.push(nc);
    return { nc, jsm: await jetstreamManager(nc) };
  }

  /** Messages the stream holds on `type`'s subject (read with the order service's stream-info right). */
  async function stored(type: string): Promise<number> {
    const { jsm } = await connectAs(ORDER);
    const subject = `${NAMESPACE}.${type}`;
    const info = await jsm.streams.info(STREAM, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  describe.each([
    { role: ORDER, other: PRODUCT, own: 'order.placed', answer: 'stock.reserved' },
    { role: PRODUCT, other: ORDER, own: 'stock.rejected', answer: 'order.cancelled' },
  ])('$role.user', ({ role, other, own, answer }) => {
    test(`when it publishes ${own} and ${other.user} answers ${answer}, then both are stored and each is handled once`, async () => {
      const before = { own: await stored(own), answer: await stored(answer) };
      const bus = await openBus(role);
      const otherBus = await openBus(other);
      const answered = recorder(async (event) => {
        await otherBus.publish({ ...envelopeOf(answer), payload: { replyTo: event.id } });
      });
      const answers = recorder();
      await otherBus.subscribe({ group: other.user, type: own, handler: answered.handler });
      await bus.subscribe({ group: role.user, type: answer, handler: answers.handler });
      const event = envelopeOf(own);

      await bus.publish(event);
      await waitFor(`${role.user} to handle the answer`, () => answers.events.length > 0);

      expect(answered.ids()).toEqual([event.id]);
      expect(answers.events.map((e) => (e.payload as { replyTo: string }).replyTo)).toEqual([event.id]);
      expect({ own: await stored(own), answer: await stored(answer) }).toEqual({ own: before.own + 1, answer: before.answer + 1 });
    });

    test(`when it publishes ${other.user}'s ${other.publishes[0]}, then the publish is refused and the stream holds no such message`, async () => {
      const foreign = other.publishes[0]!;
      const before = await stored(foreign);
      const bus = await openBus(role);

      await expect(bus.publish(envelopeOf(foreign))).rejects.toThrow(`Permissions Violation for Publish to "${NAMESPACE}.${foreign}"`);

      expect(await stored(foreign)).toBe(before);
      await expect(bus.check()).resolves.toBeUndefined();
    });

    test(`when it tries to delete or purge the stream, read ${other.user}'s durable or replies, or filter its own durable on another subject, then the broker refuses and nothing changes`, async () => {
      const otherDurable = natsDurableName(other.user, own);
      const ownDurable = natsDurableName(role.user, answer);
      // The other service's durable, with one event waiting in it.
      const otherBus = await openBus(other);
      const subscription = await otherBus.subscribe({ group: other.user, type: own, handler: recorder().handler });
      await subscription.close();
      await (await openBus(role)).publish(envelopeOf(own));
      const { jsm: otherJsm } = await connectAs(other);
      const waiting = async () => (await otherJsm.consumers.info(STREAM, otherDurable)).num_pending;
      await waitFor('the event to wait in the durable', async () => (await waiting()) === 1);
      const messages = async () => (await otherJsm.streams.info(STREAM)).state.messages;
      const before = await messages();
      const { nc, jsm } = await connectAs(role);

      await expect(jsm.streams.delete(STREAM)).rejects.toThrow('Permissions Violation');
      await expect(jsm.streams.purge(STREAM)).rejects.toThrow('Permissions Violation');
      await expect(jsm.consumers.info(STREAM, otherDurable)).rejects.toThrow('Permissions Violation');
      await expect(nc.request(`$JS.API.CONSUMER.MSG.NEXT.${STREAM}.${otherDurable}`, '{"batch":1}')).rejects.toThrow(
        'Permissions Violation',
      );
      await expect(jsm.consumers.delete(STREAM, ownDurable)).rejects.toThrow('Permissions Violation');
      // Its own durable's create subject, with another filter in the request: the server checks they agree.
      const hijack = await nc.request(
        `$JS.API.CONSUMER.CREATE.${STREAM}.${ownDurable}.${NAMESPACE}.${answer}`,
        JSON.stringify({
          stream_name: STREAM,
          config: { durable_name: ownDurable, filter_subject: `${NAMESPACE}.${own}`, ack_policy: 'explicit' },
        }),
      );
      expect(hijack.json<{ error?: { err_code: number } }>().error?.err_code).toBe(10131);
      for (const subject of [`${NAMESPACE}.>`, `${natsInboxPrefix(other.user)}.>`]) {
        const closed = await nc.subscribe(subject).closed;
        expect(closed?.message, subject).toBe(`Permissions Violation for Subscription to "${subject}"`);
      }

      expect(await messages()).toBe(before);
      expect(await waiting()).toBe(1);
    });

    test('when it gives a wrong password, then the broker refuses it with an error that names the user and not the password', async () => {
      const wrong = `wrong-${randomBytes(8).toString('hex')}`;

      const opening = openBus(role, { password: wrong });

      await expect(opening).rejects.toThrow(`the event bus refused user "${role.user}" (NATS: Authorization Violation)`);
      await expect(opening).rejects.not.toThrow(wrong);
    });
  });

  test('when a service gives no credentials, then the broker refuses it and the error says which settings to set', async () => {
    await expect(openBus(ORDER, { user: '', password: '' })).rejects.toThrow(
      'the event bus requires credentials (NATS: Authorization Violation): set EVENT_BUS_USER and EVENT_BUS_PASSWORD',
    );
  });

  test('when the credentials are in the URL userinfo, then they work as EVENT_BUS_USER/EVENT_BUS_PASSWORD do', async () => {
    const url = new URL(nats.url);
    url.username = ORDER.user;
    url.password = passwordOf(ORDER);
    const bus = await openBus(ORDER, { url: url.toString(), user: '', password: '' });

    await expect(bus.check()).resolves.toBeUndefined();
  });
});
