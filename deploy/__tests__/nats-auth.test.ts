import { describe, expect, test } from 'vitest';
import { readRepoFile } from '../lib/deployables.js';
import { eventRoleOf, natsAuthorizationProblems, NatsVariable, parseNatsConfig, type NatsMap } from '../lib/nats-auth.js';

const CONFIG = readRepoFile('k8s/base/nats.conf');
const roles = () => [eventRoleOf('product-service'), eventRoleOf('order-service')];
const check = (text: string, namespace = 'events') => natsAuthorizationProblems('nats.conf', text, roles(), namespace);

describe('the broker users (k8s/base/nats.conf)', () => {
  test("each service's events are read from its code: its group, what its outbox stores, what it handles", () => {
    expect(roles()).toEqual([
      {
        user: 'product-service',
        group: 'product-service',
        publishes: ['stock.rejected', 'stock.reserved'],
        consumes: ['order.cancelled', 'order.placed'],
      },
      {
        user: 'order-service',
        group: 'order-service',
        publishes: ['order.cancelled', 'order.placed'],
        consumes: ['stock.rejected', 'stock.reserved'],
      },
    ]);
  });

  test('the config reads as nats-server reads it: variables unquoted, subjects starting with $ quoted', () => {
    const users = (parseNatsConfig(CONFIG).authorization as NatsMap).users as NatsMap[];
    expect(users.map((u) => u.user)).toEqual(['order-service', 'product-service']);
    expect(users[0]?.password).toEqual(new NatsVariable('NATS_ORDER_SERVICE_PASSWORD'));
    const publish = ((users[0]?.permissions as NatsMap).publish as NatsMap).allow as string[];
    expect(publish).toContain('$JS.API.INFO');
  });

  test('each service has exactly the permissions it needs, and a password from the environment', () => {
    const { problems, passwordVariables } = check(CONFIG);
    expect(problems).toEqual([]);
    expect(Object.fromEntries(passwordVariables)).toEqual({
      'order-service': 'NATS_ORDER_SERVICE_PASSWORD',
      'product-service': 'NATS_PRODUCT_SERVICE_PASSWORD',
    });
  });
});

describe('the broker user checks catch breakage', () => {
  test("when the order service may publish the product service's events but no longer ack one of its own, then both are named", () => {
    const broken = CONFIG.replace('"events.order.cancelled"', '"events.order.cancelled"\n"events.stock.>"').replace(
      '"$JS.ACK.EVENTS.order-service--stock_rejected.>"',
      '',
    );
    expect(check(broken).problems).toEqual([
      'nats.conf user order-service: may not publish $JS.ACK.EVENTS.order-service--stock_rejected.>, which the service needs',
      'nats.conf user order-service: may also publish events.stock.>, which the service does not need',
    ]);
  });

  test('when a password is written in the file, anyone may connect without one, or a user is no service, then each is named', () => {
    const broken = `no_auth_user: guest\n${CONFIG.replace('$NATS_PRODUCT_SERVICE_PASSWORD', 'secret').replace('users = [', 'users = [\n{ user: guest, password: guest }')}`;
    expect(check(broken).problems).toEqual([
      'nats.conf: "no_auth_user" is set; the services\' users belong in authorization.users only',
      'nats.conf user guest: no service talking to NATS is called so (product-service, order-service)',
      'nats.conf user product-service: the password must come from the environment ($VARIABLE), not be written in the file',
    ]);
  });

  test('when a service has no user, or a user an empty allow list (which allows everything), then the check says so', () => {
    const withoutProduct = CONFIG.slice(0, CONFIG.indexOf('    {\n      user: product-service')) + '  ]\n}\n';
    expect(check(withoutProduct).problems).toEqual(['nats.conf: no user product-service, so the broker refuses that service']);
    const emptyAllow = CONFIG.replace('allow: ["_INBOX_order-service.>"]', 'allow: []');
    expect(check(emptyAllow).problems).toEqual([
      'nats.conf user order-service: subscribe has no allow list, so it may use every subject',
      'nats.conf user order-service: may not subscribe _INBOX_order-service.>, which the service needs',
    ]);
  });

  test('when the services use another EVENT_BUS_NAMESPACE than the file is written for, then their subjects are missing', () => {
    expect(check(CONFIG, 'shop').problems).toContain(
      'nats.conf user order-service: may not publish shop.order.placed, which the service needs',
    );
  });

  test('when the file has no authorization block, then anyone may do anything and the check says so', () => {
    expect(check('port: 4222\n').problems).toEqual([
      'nats.conf: no authorization.users, so anyone who reaches the broker may publish and consume anything',
    ]);
  });
});
