// DESIGN.md's property 4: a worker that dies mid-batch (an injected process.exit half-way through a task, leaving the
// arena half-mutated) or is terminated under load loses no state and no accepted event, and no alert is lost or
// emitted twice: the alerts are byte for byte those of the plain engine (and of a fault-free pool).
import { describe, expect, it } from 'vitest';
import { ALERT_BYTES } from '../src/abi.js';
import { feed, frame, openPool, plainRun, splits, stream } from './helpers/pool.js';

const N = 24_000;
const b = stream(N, 23);
const ref = plainRun(b);
const tick = () => new Promise((r) => setImmediate(r));

describe('recovery from dead workers (property 4)', () => {
  it('the reference fires alerts', () => {
    expect(ref.alerts).toBeGreaterThan(100);
  });

  it('an injected death half-way through a batch, on several shards and several times, changes no alert', async () => {
    // Small snapshots so that recoveries restore snapshots other than the initial one and replay trimmed journals.
    const { pool, bytes } = await openPool({ workers: 2, shards: 4, chunkEvents: 512, snapshotEveryEvents: 1_500 });
    try {
      const faults = new Map([[20, 0], [60, 2], [61, 3], [150, 0]]);
      let injected = 0;
      await feed(pool, b, splits(N, [100]), async (k) => {
        // Each fault is taken by the next task of its shard: wait for the previous one to have struck first.
        const shard = faults.get(k);
        if (shard !== undefined) {
          await waitFor(() => pool.stats().recoveries === injected);
          pool.injectFault(shard);
          injected++;
        }
        await tick();
      });
      await pool.drain();
      const s = pool.stats();
      expect(injected).toBe(4);
      expect(s.recoveries).toBe(4);
      expect(s.workerRestarts).toBe(4);
      expect(s.eventsProcessed).toBe(N);
      expect(s.engine.accepted).toBe(N); // the restored counters, not N plus the half batches
      expect(s.engine.alerts).toBe(ref.alerts);
      expect(bytes().length / ALERT_BYTES).toBe(ref.alerts);
      expect(bytes().equals(ref.bytes)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('a fault on the replay itself recovers again', async () => {
    const { pool, bytes } = await openPool({ workers: 1, shards: 2, chunkEvents: 1024, snapshotEveryEvents: 4_000 });
    try {
      // Piscina reports the death before it fails the task, so a fault injected then strikes the next task of the
      // shard: the recovery's own replay of the journal, which dies half-way too.
      let second = false;
      pool.piscina.on('workerDestroy', () => { if (!second) { second = true; pool.injectFault(1); } });
      await feed(pool, b, splits(N, [400]), async (k) => {
        if (k === 30) pool.injectFault(1);
        await tick();
      });
      await pool.drain();
      expect(second).toBe(true);
      expect(pool.stats().recoveries).toBe(2);
      expect(pool.stats().workerRestarts).toBe(2);
      expect(bytes().equals(ref.bytes)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('terminating a worker thread under load changes no alert', async () => {
    const { pool, bytes } = await openPool({ workers: 2, shards: 4, chunkEvents: 1024, snapshotEveryEvents: 3_000 });
    try {
      // The first workers announced themselves before this listener: count their replacements.
      let terminated = 0, replaced = 0;
      pool.piscina.on('workerCreate', () => { replaced++; });
      for (const [k, [start, end]] of splits(N, [2_000]).entries()) {
        const kill = k === 4 || k === 8;
        // Both workers up (a replacement included) before a kill.
        if (kill) await waitFor(() => replaced === terminated && pool.piscina.threads.length === 2);
        expect(pool.submit(frame(b, start, end), 0n)).toBe(start);
        if (kill) {
          // Right after a submit that gave every shard a task, both workers hold one: this kills a running batch.
          expect(pool.stats().inFlight).toBeGreaterThanOrEqual(3);
          await pool.piscina.threads[0].terminate();
          terminated++;
        }
      }
      await pool.drain();
      const s = pool.stats();
      expect(terminated).toBe(2);
      expect(s.recoveries).toBeGreaterThanOrEqual(2);
      expect(s.workerRestarts).toBe(2);
      expect(s.engine.accepted).toBe(N);
      expect(bytes().equals(ref.bytes)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}
