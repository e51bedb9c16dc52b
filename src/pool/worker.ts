// The pool's Piscina worker: binds one cached instance of the shared module per shard memory, on first use, and
// runs a task's ops on that shard. Holds no state of its own: a replacement worker picks up where a dead one
// stopped, because everything lives in the shared memories and snapshot buffers the main thread owns.
import { move, workerData } from 'piscina';
import { ALERT_BYTES } from '../abi.js';
import { Engine } from '../engine.js';
import { OP_CHANNEL, OP_EVENTS, OP_INSTRUMENT, OP_REPLAY, OP_SNAPSHOT, type PoolWorkerData, type ShardResult, type ShardTask } from './task.js';

const data = workerData as PoolWorkerData;
const engines: (Engine | undefined)[] = [];
const snapshotViews: [Uint8Array, Uint8Array][] = data.snapshots.map(([a, b]) => [new Uint8Array(a), new Uint8Array(b)]);

// Alert records of the running task gather here; the buffer grows and is reused, and a task's records leave as one copy.
let out = new Uint8Array(64 * ALERT_BYTES);
let outBytes = 0;
function collect(view: DataView): void {
  const n = view.byteLength;
  if (outBytes + n > out.byteLength) {
    const bigger = new Uint8Array(Math.max(out.byteLength * 2, outBytes + n));
    bigger.set(out.subarray(0, outBytes));
    out = bigger;
  }
  out.set(new Uint8Array(view.buffer, view.byteOffset, n), outBytes);
  outBytes += n;
}

function engineOf(shard: number): Engine {
  // Instantiating writes the module's static data into the shard's memory; it happens here, inside a task of that
  // shard, when no other thread runs on that memory (one task in flight per shard).
  return (engines[shard] ??= Engine.attach(data.memories[shard], data.layouts[shard], { build: data.build }));
}

export default function run(task: ShardTask): ShardResult {
  const { shard, ops } = task;
  const engine = engineOf(shard);
  const capacity = data.layouts[shard].chunkEvents;
  outBytes = 0;
  // An injected fault ingests half of the task's events, then dies: a real death with half-mutated state.
  let budget = Infinity;
  if (task.fault) {
    let events = 0;
    for (let i = 0; i < ops.length; i += 4) if (ops[i] === OP_EVENTS || ops[i] === OP_REPLAY) events += ops[i + 3] - ops[i + 2];
    budget = Math.floor(events / 2);
  }
  for (let i = 0; i < ops.length; i += 4) {
    const op = ops[i];
    if (op === OP_EVENTS || op === OP_REPLAY) {
      const start = ops[i + 2];
      const end = Math.min(ops[i + 3], start + budget);
      engine.ingestBatch(ops[i + 1], capacity, start, end, op === OP_EVENTS ? collect : undefined);
      budget -= end - start;
      if (budget === 0 && task.fault) process.exit(1);
    } else if (op === OP_CHANNEL) {
      engine.applyThresholdPlan([ops[i + 1], ops[i + 2], ops[i + 3]]);
    } else if (op === OP_INSTRUMENT) {
      engine.applyInstrumentPlan(ops[i + 1], [ops[i + 2], ops[i + 3]]);
    } else if (op === OP_SNAPSHOT) {
      engine.snapshotInto(snapshotViews[shard][ops[i + 1]]);
    } else {
      throw new Error(`pool worker: unknown op ${op} at ops[${i}] of a task for shard ${shard}`);
    }
  }
  if (task.fault) process.exit(1);
  return outBytes === 0 ? null : (move(out.slice(0, outBytes)) as Uint8Array);
}
