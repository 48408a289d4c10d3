export * from './aggregator.js';
export * from './config.js';
export * from './layout.js';
export * from './robust.js';
export * from './server-optimizer.js';
export * from './staleness.js';
export * from './state.js';
