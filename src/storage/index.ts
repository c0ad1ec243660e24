export { BucketWindow, DEFAULT_BUCKETS, validateWindowShape, type WindowCounter, type WindowMode } from './bucket-window.js';
export { LogWindow } from './log-window.js';
export { MemoryStore, type HoldResult, type MemoryHold, type MemoryStoreOptions } from './memory-store.js';
export { USAGE_SLOTS, type CallId, type CallUnits, type UsageLayout } from './ledger-ring.js';
export type {
  Awaitable,
  CommitRequest,
  CommitResult,
  CounterItem,
  CounterState,
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  LedgerStatus,
  ReserveFailure,
  ReserveRequest,
  ReserveResult,
  Store,
  VersionedValue,
  WindowAdjustment,
  WindowItem,
  WindowRead,
  WindowState,
} from './store.js';
export { storeSchema } from './store.js';
export { FailOpenStore, type FailOpenStoreOptions } from './fail-open-store.js';
