export * from './event-bus.js';
export * from './create-event-bus.js';
export * from './outbox.js';
export * from './inbox.js';
export * from './nats-permissions.js';
