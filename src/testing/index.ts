/**
 * Test helpers: a manual clock and the store conformance suite.
 * @packageDocumentation
 */
export { ManualClock } from '../core/index.js';
export { storeConformance, type ConformanceHarness, type ConformanceOptions } from './conformance.js';
