export { BucketWindow, DEFAULT_BUCKETS } from './bucket-window.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
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
  WindowState,
} from './store.js';
