import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  abortCollective,
  CollectiveAbortedError,
  createSharedMemory,
  LocalCollective,
  SharedMemoryCollective,
  type SharedMemoryInit,
} from '../../src/engine/dist/collective.js';
import { REASON_BYTES } from '../../src/engine/dist/shared_memory.js';
import type { RankData } from '../fixtures/engine/collective_worker.js';

const WORKER = new URL('../fixtures/engine/collective_worker.mjs', import.meta.url);

interface Failure {
  error: { name: string; message: string; reason?: string };
}

interface World {
  init: SharedMemoryInit;
  marks: Int32Array;
  /** Resolves when rank 0 posts that it is about to wait. */
  waiting: Promise<void>;
  results: Promise<any[]>;
}

/** Starts `worldSize` worker threads on one set of shared buffers; each runs `scenario`. */
function launch(
  worldSize: number,
  scenario: RankData['scenario'],
  perRank: (rank: number) => Partial<RankData> = () => ({}),
  memory: { capacity?: number; gatherBytes?: number } = {},
): World {
  const init = createSharedMemory(worldSize, memory);
  const marks = new Int32Array(new SharedArrayBuffer(16));
  let ready = 0;
  let onWaiting!: () => void;
  const waiting = new Promise<void>((resolve) => (onWaiting = resolve));
  const results = Array.from({ length: worldSize }, (_, rank) => {
    const workerData: RankData = { init, rank, scenario, marks: marks.buffer };
    Object.assign(workerData, perRank(rank));
    const w = new Worker(WORKER, { workerData });
    return new Promise<unknown>((resolve, reject) => {
      w.on('message', (m: { ready?: boolean; waiting?: boolean; result?: unknown }) => {
        if (m.ready && ++ready === worldSize) {
          // Every rank has loaded: the timeouts measure waiting, not start-up.
          Atomics.store(marks, 1, 1);
          Atomics.notify(marks, 1);
        }
        if (m.waiting) onWaiting();
        if ('result' in m) resolve(m.result);
      });
      w.on('error', reject);
      w.on('exit', (code) => reject(new Error(`rank ${rank} exited with code ${code}`)));
    });
  });
  return { init, marks, waiting, results: Promise.all(results) };
}

/** Deterministic floats of mixed magnitudes, so the order of the sum changes the bits. */
function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float32Array.from({ length: n }, () => (next() - 0.5) * 10 ** Math.floor(next() * 8 - 4));
}

/** The float32 mean in rank order: sum ranks 0..N-1 in float32, then divide. */
function meanInRankOrder(arrays: Float32Array[]): Float32Array {
  const out = Float32Array.from(arrays[0]);
  for (const a of arrays.slice(1)) for (let i = 0; i < out.length; i++) out[i] += a[i];
  for (let i = 0; i < out.length; i++) out[i] /= arrays.length;
  return out;
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

describe('LocalCollective', () => {
  it('is the identity at world size 1', () => {
    const c = new LocalCollective();
    const a = Float32Array.of(1, 2.5, -3);
    c.allReduceMean(a);
    c.broadcast(a);
    c.barrier();
    expect(Array.from(a)).toEqual([1, 2.5, -3]);
    expect(c.allGather({ x: 1 })).toEqual([{ x: 1 }]);
    expect([c.rank, c.worldSize]).toEqual([0, 1]);
    expect(() => c.broadcast(a, 1)).toThrow(/root 1 is not a rank of a world of 1/);
  });
});

describe('SharedMemoryCollective on one thread', () => {
  it('checks its arguments and buffers', () => {
    expect(() => createSharedMemory(0)).toThrow(/worldSize must be an integer of at least 1/);
    const init = createSharedMemory(2, { capacity: 8, gatherBytes: 64 });
    expect(() => new SharedMemoryCollective(init, 2)).toThrow(
      /rank 2 is not a rank of a world of 2/,
    );
    expect(() => new SharedMemoryCollective({ ...init, capacity: 16 }, 0)).toThrow(
      /SharedMemoryInit.data has 64 bytes; a world of 2 with capacity 16 needs 128/,
    );
    expect(() => new SharedMemoryCollective(init, 0).broadcast(new Float32Array(1), 5)).toThrow(
      /root 5 is not a rank/,
    );
  });

  it('is the identity at world size 1, and throws the abort reason once aborted', () => {
    const init = createSharedMemory(1, { capacity: 4 });
    const c = new SharedMemoryCollective(init, 0);
    const a = Float32Array.of(1, 2, 3, 4, 5, 6);
    c.allReduceMean(a);
    c.broadcast(a);
    c.barrier();
    expect(Array.from(a)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(c.allGather({ a: [1, 'b'] })).toEqual([{ a: [1, 'b'] }]);
    // Cut at a character boundary: never half a character.
    const long = 'é'.repeat(REASON_BYTES);
    abortCollective(init, long);
    abortCollective(init, 'a later reason is ignored');
    let err: unknown;
    try {
      c.barrier();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CollectiveAbortedError);
    expect((err as CollectiveAbortedError).reason).toBe('é'.repeat(REASON_BYTES / 2));
    expect(() => c.allReduceMean(a)).toThrow(CollectiveAbortedError);
  });
});

describe.each([2, 3])('SharedMemoryCollective across %i worker threads', (worldSize) => {
  it('all-reduces (below, at and above capacity) to the same bits on every rank; broadcasts; barriers; gathers', async () => {
    const lengths = [7, 1000, 2500];
    const inputs = Array.from({ length: worldSize }, (_, r) =>
      lengths.map((n, j) => randomArray(n, 1 + r * 31 + j)),
    );
    const casts = Array.from({ length: worldSize }, (_, r) => randomArray(1500, 100 + r));
    const { results } = launch(
      worldSize,
      'ops',
      (rank) => ({ reduce: inputs[rank].map((a) => a.slice()), cast: casts[rank].slice() }),
      { capacity: 1000 },
    );
    const out = await results;
    lengths.forEach((_, j) => {
      const expected = bits(meanInRankOrder(inputs.map((a) => a[j])));
      for (const r of out) expect(bits(r.reduced[j])).toEqual(expected);
    });
    for (const r of out) {
      expect(bits(r.cast)).toEqual(bits(casts[1]));
      // Every rank bumped the counter before the barrier let any rank go.
      expect(r.seenAfterBarrier).toBe(worldSize);
      expect(r.gathered).toEqual(
        Array.from({ length: worldSize }, (_, k) => ({
          rank: k,
          name: `rank-${k}`,
          tags: [k, 'x'],
        })),
      );
    }
  });
});

describe('SharedMemoryCollective failures', () => {
  it('times out naming the operation and the rank that never arrived, and aborts the others', async () => {
    const { results } = launch(3, 'timeout', () => ({ timeoutMs: 300 }));
    const [r0, r1, r2] = (await results) as [Failure, Failure, string];
    expect(r2).toBe('absent');
    const errors = [r0.error, r1.error];
    expect(errors.map((e) => e.name)).toContain('CollectiveTimeoutError');
    for (const e of errors) {
      expect(['CollectiveTimeoutError', 'CollectiveAbortedError']).toContain(e.name);
      expect(e.message).toMatch(
        /barrier timed out after 300 ms on rank [01] of 3: rank 2 did not arrive/,
      );
    }
  });

  it('abortCollective makes a waiting rank, and a rank entering later, throw the reason', async () => {
    const world = launch(3, 'abort');
    await world.waiting;
    await new Promise((resolve) => setTimeout(resolve, 300));
    abortCollective(world.init, 'worker 2 exited with code 1');
    Atomics.store(world.marks, 2, 1);
    Atomics.notify(world.marks, 2);
    const out = (await world.results) as Failure[];
    for (const r of out) {
      expect(r.error.name).toBe('CollectiveAbortedError');
      expect(r.error.reason).toBe('worker 2 exited with code 1');
      expect(r.error.message).toBe('collective aborted: worker 2 exited with code 1');
    }
  });

  it('throws the same error on every rank for a gathered value too large or mismatched lengths, and goes on', async () => {
    const { results } = launch(2, 'errors', () => ({}), { capacity: 8, gatherBytes: 64 });
    for (const r of await results) {
      expect(r.big.error.message).toMatch(
        /allGather: rank 1's value is 202 bytes of JSON, over the limit of 60 bytes per rank/,
      );
      expect(r.bad.error.message).toBe(
        "allReduceMean: the ranks' calls do not match " +
          '(rank 0: allReduceMean of 10 floats, rank 1: allReduceMean of 12 floats)',
      );
      expect(r.after).toEqual({ ok: [0, 10] });
    }
  });
});

describe('allReduceMean throughput (informative)', () => {
  it('11M floats (ResNet-18) across 2 workers', async () => {
    const floats = 11_000_000;
    const iterations = 5;
    const { results } = launch(2, 'bench', () => ({ floats, iterations }));
    const out = await results;
    for (const r of out) expect([r.first, r.last]).toEqual([1.5, 1.5]);
    const ms = Math.max(...out.map((r) => r.ms as number));
    const perSecond = (floats * iterations) / (ms / 1000);
    console.log(
      `allReduceMean, 2 workers, ${floats} floats: ${(ms / iterations).toFixed(1)} ms each, ` +
        `${(perSecond / 1e6).toFixed(0)} M floats/s`,
    );
  });
});
