export * from './postgres.js';
export * from './tokens.js';
export * from './tcp-proxy.js';
export * from './memory-bus.js';
