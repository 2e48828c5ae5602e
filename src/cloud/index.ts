export * from './client.js';
export * from './cluster.js';
export * from './errors.js';
export * from './nodepool.js';
export * from './rate-limiter.js';
export * from './retry.js';
export * from './transport.js';
