/**
 * The shared buffers behind SharedMemoryCollective (./collective.ts), their layout,
 * the generation-counter barrier, and the abort flag a launcher raises when
 * a worker dies. The control buffer holds, as Int32:
 *
 * - 0: how many ranks have arrived at the current barrier;
 * - 1: the barrier generation, bumped by the last rank to arrive;
 * - 2: the abort state (0 running, 1 a reason being written, 2 aborted);
 * - 3: the byte length of the abort reason;
 * - 4..4+N: how many barriers each rank has entered (names the missing ones);
 * - then 3 per rank: the operation, length and root of its current call;
 *
 * followed by a fixed-size UTF-8 area for the abort reason, so the reason
 * crosses threads with the flag.
 */

/** The shared buffers a launcher creates once and passes (postMessage / workerData) to every worker. */
export interface SharedMemoryInit {
  worldSize: number;
  /** Floats per rank in `data`, and floats in `result`: the chunk of an all-reduce. */
  capacity: number;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  result: SharedArrayBuffer;
  gather: SharedArrayBuffer;
}

/** The collective was aborted (a worker died or failed, or a rank timed out); `reason` says why. */
export class CollectiveAbortedError extends Error {
  override name = 'CollectiveAbortedError';
  constructor(readonly reason: string) {
    super(`collective aborted: ${reason}`);
  }
}

/** A rank waited longer than its timeout at `operation` for `missingRanks`. */
export class CollectiveTimeoutError extends Error {
  override name = 'CollectiveTimeoutError';
  constructor(
    message: string,
    readonly operation: string,
    readonly missingRanks: readonly number[],
  ) {
    super(message);
  }
}

const CTRL_COUNT = 0;
const CTRL_GEN = 1;
const CTRL_ABORT = 2;
const CTRL_REASON_LEN = 3;
/** Start of the per-rank count of barriers entered. */
export const CTRL_ARRIVED = 4;
/** Start of the per-rank call parameters. */
export const CTRL_PARAMS = (worldSize: number): number => CTRL_ARRIVED + worldSize;
export const PARAMS_PER_RANK = 3;
/** Bytes of the abort reason kept (longer reasons are cut at a character boundary). */
export const REASON_BYTES = 1024;
/** How long one Atomics.wait lasts before the abort flag and the timeout are checked again. */
const WAIT_SLICE_MS = 200;

export const OP_ALL_REDUCE = 1;
export const OP_BROADCAST = 2;
export const OP_ALL_GATHER = 3;
const OP_NAMES: Record<number, string> = {
  [OP_ALL_REDUCE]: 'allReduceMean',
  [OP_BROADCAST]: 'broadcast',
  [OP_ALL_GATHER]: 'allGather',
};

/** The name of an operation code in the per-rank call parameters. */
export function opName(op: number): string {
  return OP_NAMES[op] ?? `operation ${op}`;
}

function ctrlInts(worldSize: number): number {
  return CTRL_PARAMS(worldSize) + PARAMS_PER_RANK * worldSize;
}

function positiveInt(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`${name} must be an integer of at least ${min} (got ${v})`);
}

/**
 * Creates the buffers of a world of `worldSize` ranks: `capacity` floats per
 * rank (default 1<<22, 16 MiB) and as many in `result`; `gatherBytes` per rank
 * for allGather's JSON (default 1 MiB, 4 of them the length).
 */
export function createSharedMemory(
  worldSize: number,
  options: { capacity?: number; gatherBytes?: number } = {},
): SharedMemoryInit {
  const capacity = options.capacity ?? 1 << 22;
  const gatherBytes = options.gatherBytes ?? 1 << 20;
  positiveInt('worldSize', worldSize);
  positiveInt('capacity', capacity);
  positiveInt('gatherBytes', gatherBytes, 8);
  return {
    worldSize,
    capacity,
    control: new SharedArrayBuffer(ctrlInts(worldSize) * 4 + REASON_BYTES),
    data: new SharedArrayBuffer(worldSize * capacity * 4),
    result: new SharedArrayBuffer(capacity * 4),
    gather: new SharedArrayBuffer(worldSize * gatherBytes),
  };
}

/** Checks `init`'s buffers against its world size and capacity; returns the sizes derived from them. */
export function layoutOf(init: SharedMemoryInit): { ctrlInts: number; gatherBytes: number } {
  positiveInt('worldSize', init.worldSize);
  positiveInt('capacity', init.capacity);
  const ints = ctrlInts(init.worldSize);
  const need = (what: string, buf: SharedArrayBuffer | undefined, bytes: number): void => {
    if (!(buf instanceof SharedArrayBuffer))
      throw new TypeError(`SharedMemoryInit.${what} is not a SharedArrayBuffer`);
    if (buf.byteLength < bytes)
      throw new RangeError(
        `SharedMemoryInit.${what} has ${buf.byteLength} bytes; a world of ${init.worldSize} ` +
          `with capacity ${init.capacity} needs ${bytes}`,
      );
  };
  need('control', init.control, ints * 4 + REASON_BYTES);
  need('data', init.data, init.worldSize * init.capacity * 4);
  need('result', init.result, init.capacity * 4);
  need('gather', init.gather, init.worldSize * 8);
  return { ctrlInts: ints, gatherBytes: Math.floor(init.gather.byteLength / init.worldSize) };
}

function controlOf(init: SharedMemoryInit): Int32Array {
  return new Int32Array(init.control, 0, layoutOf(init).ctrlInts);
}

/**
 * Called by the launcher (any thread) when a worker died or failed: every
 * rank waiting in, or later entering, an operation throws
 * {@link CollectiveAbortedError} with this reason. The first reason wins;
 * later calls change nothing.
 */
export function abortCollective(init: SharedMemoryInit, reason: string): void {
  const c = controlOf(init);
  if (Atomics.compareExchange(c, CTRL_ABORT, 0, 1) !== 0) return;
  // encodeInto writes whole characters only: a long reason is cut at a character boundary.
  const bytes = new Uint8Array(REASON_BYTES);
  const { written } = new TextEncoder().encodeInto(reason, bytes);
  new Uint8Array(init.control, c.byteLength, REASON_BYTES).set(bytes.subarray(0, written));
  Atomics.store(c, CTRL_REASON_LEN, written);
  Atomics.store(c, CTRL_ABORT, 2);
  Atomics.notify(c, CTRL_ABORT);
  Atomics.notify(c, CTRL_GEN);
}

/** Throws {@link CollectiveAbortedError} when the collective behind control buffer `c` was aborted. */
export function checkAborted(c: Int32Array): void {
  const state = Atomics.load(c, CTRL_ABORT);
  if (state === 0) return;
  // State 1: abortCollective is between its flag and its reason, a few microseconds.
  if (state === 1) Atomics.wait(c, CTRL_ABORT, 1, 1000);
  const len = Atomics.load(c, CTRL_REASON_LEN);
  const bytes = new Uint8Array(c.buffer, c.byteOffset + c.byteLength, len).slice();
  throw new CollectiveAbortedError(new TextDecoder().decode(bytes));
}

/**
 * One barrier of `worldSize` ranks on control buffer `c`: the last rank to
 * arrive resets the count and bumps the generation; the others wait for the
 * generation to change with Atomics.wait in slices of 200 ms (never a busy
 * spin), checking the abort flag between slices, and call `onTimeout` once
 * `timeoutMs` has passed.
 */
export function waitGeneration(
  c: Int32Array,
  worldSize: number,
  timeoutMs: number,
  onTimeout: () => never,
): void {
  // Read before arriving: the generation cannot move on until this rank has added itself.
  const gen = Atomics.load(c, CTRL_GEN);
  if (Atomics.add(c, CTRL_COUNT, 1) === worldSize - 1) {
    Atomics.store(c, CTRL_COUNT, 0);
    Atomics.add(c, CTRL_GEN, 1);
    Atomics.notify(c, CTRL_GEN);
    return;
  }
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (Atomics.load(c, CTRL_GEN) !== gen) return;
    checkAborted(c);
    const left = deadline - performance.now();
    if (left <= 0) onTimeout();
    Atomics.wait(c, CTRL_GEN, gen, Math.min(WAIT_SLICE_MS, left));
  }
}
