export * from './postgres.js';
export * from './tokens.js';
