// What crosses from the pool's main thread to a worker: numbers only. The memories, layouts and snapshot buffers
// went over once, in the workers' workerData; a task names a shard and lists what to do with its memory, as ops of
// four numbers each, run in order.
import type { EngineLayout } from '../engine.js';
import type { Build } from '../wasm/load.js';

/** ops: [OP_EVENTS, batchPtr, start, end]: ingest events [start, end) of the chunk at batchPtr, return the alerts. */
export const OP_EVENTS = 1;
/** ops: [OP_REPLAY, batchPtr, start, end]: ingest as OP_EVENTS, drop the alerts (they were emitted before a crash). */
export const OP_REPLAY = 2;
/** ops: [OP_CHANNEL, channel, mode, threshold]: one entry of a threshold plan (engine.ts planThresholds). */
export const OP_CHANNEL = 3;
/** ops: [OP_SNAPSHOT, k, 0, 0]: copy the arena into the shard's snapshot buffer k (0 or 1). */
export const OP_SNAPSHOT = 4;
/**
 * ops: [OP_INSTRUMENT, id, channel, threshold]: instrument `id`'s own base threshold for one channel (NaN clears;
 * engine.ts applyInstrumentPlan), registering the instrument in the shard's arena first if it is not yet.
 */
export const OP_INSTRUMENT = 5;

export interface ShardTask {
  shard: number;
  ops: number[];
  /** 1: ingest half of the task's events, then exit the worker (PoolOptions injectFault, tests only). */
  fault: number;
}

export interface PoolWorkerData {
  build: Build;
  memories: WebAssembly.Memory[];
  layouts: EngineLayout[];
  /** Per shard, the two ping-pong snapshot buffers, each arenaBytes long. */
  snapshots: [SharedArrayBuffer, SharedArrayBuffer][];
}

/** A task's result: the alert records of its OP_EVENTS batches, in order, 64 bytes each; null when there are none. */
export type ShardResult = Uint8Array | null;
