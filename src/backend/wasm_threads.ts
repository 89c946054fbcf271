/**
 * Opt-in multi-threaded wasm backend for Node.
 *
 * `@tensorflow/tfjs-backend-wasm` ships a threaded SIMD build (Emscripten
 * pthreads; XNNPACK spreads convolutions and matmuls over a thread pool) but
 * turns it off in Node: its `WASM_HAS_MULTITHREAD_SUPPORT` flag answers false
 * there, and the glue's pthread workers could not start anyway, because the
 * worker script it hands out is a `blob:` URL (Node's `worker_threads` takes
 * files, `file:`/`data:` URLs or source text) and the main script the worker
 * must load arrives as a Blob of the factory's source text.
 *
 * {@link enableWasmThreads} sets the flag and, while the backend initialises,
 * makes the glue's `new Worker(url)` start {@link PthreadWorker}: a
 * `worker_threads` worker running our own script ({@link WORKER_SOURCE}) that
 * speaks the glue's worker protocol (`load`, `run`, `cancel`,
 * `processProxyingQueue`) and evaluates the factory text it is sent with the
 * few bundle-level names that text refers to. Pool workers never hold the
 * process open: the glue unrefs them once loaded and we ignore its `ref()`
 * when a pthread starts (the main thread is busy inside wasm whenever they
 * work), so tools exit by themselves.
 *
 * Nothing changes unless asked: `setBackend('wasm', { wasmThreads: 2 })` or
 * the environment variable `TFDET_WASM_THREADS=2`.
 *
 * When it helps: large convolutions. A ResNet-18 forward+backward at batch 8,
 * 224x224, costs the same CPU time with 2 threads as with 1, but the main
 * thread does only ~60% of it, the rest runs beside it. Small models lose:
 * the pool's threads spin between the many tiny operations, and the demo SSD
 * (128x128, batch 4) took ~70% more CPU time per step with 2 threads.
 */
import os from 'node:os';
import { Worker as NodeWorker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

/** The glue pre-starts this many pthread workers; more threads would need new ones later. */
export const MAX_WASM_THREADS = 8;

/**
 * The pthread worker. It receives the glue's `load` message (wasm module,
 * shared memory, the factory's source as a Blob or a file path), instantiates
 * the module on the shared memory and then runs the thread entry points the
 * main thread sends. Messages that arrive while the factory loads are queued.
 */
const WORKER_SOURCE = String.raw`'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const perfHooks = require('node:perf_hooks');

let Module = {};
let started = false; // the factory has called startWorker
let jsReady = false; // the first pthread has run; proxied calls may execute
const early = []; // messages received before startWorker
const earlyQueues = []; // proxying queues received before the first run

const post = (msg, transfer) => parentPort.postMessage(msg, transfer);

// Helpers the bundled factory text calls by their bundle-level names.
function __values(o) {
  if (o && typeof o[Symbol.iterator] === 'function') return o[Symbol.iterator]();
  let i = 0;
  return { next: () => ({ value: o && o[i], done: !o || i++ >= o.length }) };
}
function __read(o, n) {
  const out = [];
  for (const v of o) {
    if (n !== undefined && out.length >= n) break;
    out.push(v);
  }
  return out;
}
function __spreadArray(to, from) {
  return to.concat(Array.prototype.slice.call(from));
}

function startWorker(instance) {
  Module = instance;
  started = true;
  post({ cmd: 'loaded' });
  for (const m of early.splice(0)) handle(m);
}

async function load(d) {
  Module.wasmModule = d.wasmModule;
  Module.wasmMemory = d.wasmMemory;
  Module.buffer = d.wasmMemory.buffer;
  Module.ENVIRONMENT_IS_PTHREAD = true;
  for (const name of d.handlers) {
    Module[name] = (...args) => post({ cmd: 'callHandler', handler: name, args });
  }
  Module.instantiateWasm = (imports, receive) => {
    const instance = new WebAssembly.Instance(Module.wasmModule, imports);
    receive(instance);
    Module.wasmModule = null;
    return instance.exports;
  };
  const text = typeof d.urlOrBlob === 'string' ? fs.readFileSync(d.urlOrBlob, 'utf8') : await d.urlOrBlob.text();
  const names = ['require', 'require$$0', 'require$$1', 'require$$3', 'require$$4', 'commonjsGlobal',
    '__values', '__read', '__spreadArray', '__dirname', '__filename', '_scriptDir',
    'startWorker', 'postMessage', 'importScripts'];
  const make = new Function(...names, text + '\nreturn WasmBackendModuleThreadedSimd;');
  const factory = make(require, fs, path, perfHooks, os, globalThis, __values, __read, __spreadArray,
    process.cwd(), undefined, undefined, startWorker, post, () => {
      throw new Error('importScripts is not available in tfdet pthread workers');
    });
  factory(Module);
}

function run(d) {
  Module.__emscripten_thread_init(d.pthread_ptr, 0, 0, 1);
  Module.establishStackSpace();
  Module.PThread.receiveObjectTransfer(d);
  Module.PThread.threadInitTLS();
  if (!jsReady) {
    jsReady = true;
    for (const q of earlyQueues.splice(0)) Module.executeNotifiedProxyingQueue(q);
  }
  try {
    Module.invokeEntryPoint(d.start_routine, d.arg);
  } catch (e) {
    if (e === 'unwind') return;
    if (!(e instanceof Module.ExitStatus)) throw e;
    if (!Module.keepRuntimeAlive()) Module.__emscripten_thread_exit(e.status);
  }
}

function handle(d) {
  try {
    if (d.cmd === 'run') run(d);
    else if (d.cmd === 'cancel') {
      if (Module._pthread_self()) Module.__emscripten_thread_exit(-1);
    } else if (d.cmd === 'processProxyingQueue') {
      if (jsReady) Module.executeNotifiedProxyingQueue(d.queue);
      else earlyQueues.push(d.queue);
    } else if (d.target === 'setimmediate') {
      // the glue's setImmediate emulation for browsers; nothing to do in Node
    } else if (d.cmd) {
      process.stderr.write('tfdet pthread worker: unknown command ' + d.cmd + '\n');
    }
  } catch (e) {
    if (Module.__emscripten_thread_crashed) Module.__emscripten_thread_crashed();
    throw e;
  }
}

parentPort.on('message', (d) => {
  if (d.cmd === 'load') {
    load(d).catch((e) => {
      process.stderr.write('tfdet pthread worker failed to load: ' + (e && e.stack ? e.stack : e) + '\n');
      process.exit(1);
    });
  } else if (!started) early.push(d);
  else handle(d);
});
`;

/** Workers started during the current start-up, and how to report one that dies while loading. */
let startup: { workers: Set<PthreadWorker>; fail: (why: string) => void } | null = null;

/**
 * A pthread worker of the threaded wasm build. The glue constructs it with
 * the URL of its own worker script, which Node cannot load; we run
 * {@link WORKER_SOURCE} instead.
 */
export class PthreadWorker extends NodeWorker {
  constructor(_url?: unknown) {
    super(WORKER_SOURCE, { eval: true, name: 'tfdet-wasm-pthread' });
    const watch = startup;
    if (!watch) return;
    watch.workers.add(this);
    let loaded = false;
    this.on('message', (d: { cmd?: string }) => {
      if (d?.cmd === 'loaded') loaded = true;
    });
    this.once('exit', (code) => {
      if (!loaded) watch.fail(`a pthread worker exited with code ${code} while loading`);
    });
  }

  /**
   * The glue refs a worker when a pthread starts on it. Our pthreads only
   * work while the main thread is itself inside wasm, so they never need to
   * keep Node's event loop alive; ignoring this lets tools exit by themselves.
   */
  override ref(): void {}
}

/** What {@link enableWasmThreads} achieved. */
export interface WasmThreadsResult {
  /** Threads XNNPACK uses (1 when the single-threaded build runs). */
  threads: number;
  /** One line: the build in use and, after a fallback, why. */
  reason: string;
}

/**
 * The wasm thread count to use: `requested` when given, else
 * `TFDET_WASM_THREADS`, else undefined (the default single-threaded build).
 * A bad count is an error naming where it came from.
 */
export function resolveWasmThreads(
  requested: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  if (requested !== undefined) return checkThreads(requested, `wasmThreads ${requested}`);
  return wasmThreadsFromEnv(env);
}

/** The number of threads asked for by `TFDET_WASM_THREADS`, or undefined when unset. */
export function wasmThreadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.TFDET_WASM_THREADS;
  if (raw === undefined || raw === '') return undefined;
  return checkThreads(Number(raw), `TFDET_WASM_THREADS=${JSON.stringify(raw)}`);
}

function checkThreads(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new Error(`${what}: expected an integer thread count from 1 to ${MAX_WASM_THREADS}`);
  }
  return n;
}

/** Why threads cannot run in this Node, or null when they can. */
function threadSupportProblem(): string | null {
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  // A module with shared memory and an atomic load: WebAssembly threads.
  const probe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0,
    65, 0, 254, 16, 2, 0, 26, 11,
  ]);
  return WebAssembly.validate(probe) ? null : 'this Node has no WebAssembly threads';
}

interface WasmPackage {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Threads the running wasm backend uses, or undefined when it has not started. */
export async function runningWasmThreads(): Promise<number | undefined> {
  if (!tf.engine().registry.wasm) return undefined;
  const pkg = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmPackage;
  return pkg.getThreadsCount();
}

/**
 * Starts the threaded build: flag, thread count, our worker class and a core
 * count the backend will not halve below `threads`, all for the length of
 * `tf.setBackend('wasm')`. Resolves to null on success, else to why not.
 */
async function startThreaded(
  pkg: WasmPackage,
  threads: number,
  timeoutMs: number,
): Promise<string | null> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  pkg.setThreadsCount(threads);
  const g = globalThis as { Worker?: unknown };
  const before = Object.getOwnPropertyDescriptor(g, 'Worker');
  // The glue assigns `Worker = worker_threads.Worker` and then constructs its
  // pool with `new Worker(url)`; during start-up that name is ours.
  Object.defineProperty(g, 'Worker', {
    configurable: true,
    get: () => PthreadWorker,
    set: () => {},
  });
  // The backend caps its pool at half the logical cores (it assumes two
  // hyper-threads per core), counted with os.cpus() while it starts.
  const cpus = os.cpus;
  const real = cpus();
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  let timer: NodeJS.Timeout | undefined;
  const workers = new Set<PthreadWorker>();
  const failed = new Promise<string>((resolve) => {
    startup = { workers, fail: resolve };
    timer = setTimeout(
      () => resolve(`the pthread workers did not load within ${timeoutMs / 1000} s`),
      timeoutMs,
    );
  });
  try {
    const started = tf.setBackend('wasm').then(
      (ok) => (ok ? null : 'the threaded wasm build failed to start'),
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    const why = await Promise.race([started, failed]);
    if (why !== null) for (const w of workers) void w.terminate();
    return why;
  } finally {
    clearTimeout(timer);
    startup = null;
    os.cpus = cpus;
    if (before) Object.defineProperty(g, 'Worker', before);
    else delete g.Worker;
  }
}

/**
 * Activates tfjs' wasm backend with `threads` XNNPACK threads: its threaded
 * SIMD build for 2 or more, the plain SIMD build for 1. The build is chosen
 * when the backend first initialises, so this must come before anything else
 * starts the wasm backend; asking later for another count is an error. When
 * the threaded build cannot start, the single-threaded one runs instead and
 * `reason` says why.
 *
 * @example
 * ```ts
 * const { threads, reason } = await enableWasmThreads(2);
 * // where the threaded build loads: threads is 2, reason 'threaded SIMD build, 2 threads'
 * ```
 */
export async function enableWasmThreads(
  threads: number,
  opts: { timeoutMs?: number } = {},
): Promise<WasmThreadsResult> {
  checkThreads(threads, 'wasm threads');
  const pkg = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmPackage;
  const now = await runningWasmThreads();
  if (now !== undefined) {
    if (now !== threads) {
      throw new Error(
        `wasm threads: the wasm backend already runs with ${now} thread(s); ` +
          `ask for ${threads} before it first starts (setBackend or TFDET_WASM_THREADS)`,
      );
    }
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to start');
    return { threads: now, reason: `${now > 1 ? 'threaded ' : ''}SIMD build, ${now} thread(s)` };
  }
  let failure: string | null = null;
  if (threads > 1) {
    failure =
      threadSupportProblem() ?? (await startThreaded(pkg, threads, opts.timeoutMs ?? 120_000));
    if (failure === null) {
      const actual = pkg.getThreadsCount();
      return { threads: actual, reason: `threaded SIMD build, ${actual} threads` };
    }
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  pkg.setThreadsCount(-1);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to start');
  const reason = 'single-threaded SIMD build';
  return {
    threads: 1,
    reason: failure === null ? reason : `${reason} (threads unavailable: ${failure})`,
  };
}
