/**
 * Choosing the tfjs backend. `auto` prefers native TensorFlow (tfjs-node-gpu,
 * then tfjs-node, both optional installs), then WebGPU through the `webgpu`
 * package (Dawn) when it finds an adapter, then wasm (the embedded default
 * here), then the plain JavaScript cpu backend, and says which and why.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers neither the gradients nor the chained tensor
// methods (`x.add(y)`); the union package's Node build registers both.
import '@tensorflow/tfjs';
import { registerBatchNormKernels } from './batch_norm_kernels.js';
import { registerConvGradients } from './gradients.js';
import { registerOptimKernels } from './optim_kernels.js';
import { registerTypedGradKernels } from './typed_kernels.js';
import { registerWasmTrainingKernels } from './wasm_kernels.js';
import { enableWasmThreads, resolveWasmThreads } from './wasm_threads.js';

export { registerWasmTrainingKernels } from './wasm_kernels.js';
export { registerConvGradients } from './gradients.js';
export { registerTypedGradKernels, readValues, writeFloatOutput } from './typed_kernels.js';
export {
  enableWasmThreads,
  wasmThreadsFromEnv,
  resolveWasmThreads,
  MAX_WASM_THREADS,
  type WasmThreadsResult,
} from './wasm_threads.js';

/** Backend names accepted by {@link setBackend}. */
export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = [
  'auto',
  'tensorflow',
  'webgpu',
  'wasm',
  'cpu',
];

/** What {@link setBackend} chose. */
export interface BackendChoice {
  /** The tfjs backend now active (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  name: Exclude<BackendName, 'auto'>;
  /** One line saying why this one (and why not the ones before it). */
  reason: string;
}

/** Options of {@link setBackend}. */
export interface SetBackendOptions {
  /**
   * XNNPACK threads for the wasm backend (1..8; default: the environment
   * variable `TFDET_WASM_THREADS`, else the single-threaded build). See
   * `src/backend/wasm_threads.ts`.
   */
  wasmThreads?: number;
}

type Attempt = (opts: SetBackendOptions) => Promise<string>;

const errText = (e: unknown): string => {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0];
  return /Cannot find (package|module)|ERR_MODULE_NOT_FOUND/.test(msg) ? 'not installed' : first;
};

async function tryTensorflow(): Promise<string> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return `${pkg} is installed`;
    } catch (e) {
      if (pkg.endsWith('node'))
        throw new Error(`tfjs-node-gpu and tfjs-node: ${errText(e)}`, { cause: e });
    }
  }
  throw new Error('tfjs-node did not register the tensorflow backend');
}

async function tryWebgpu(): Promise<string> {
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    let webgpu: { create: (opts: string[]) => unknown; globals: Record<string, unknown> };
    try {
      // `as string` keeps tsc from resolving the optional package, which need not be installed.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
      webgpu = (await import('webgpu' as string)) as typeof webgpu;
    } catch (e) {
      throw new Error(`package 'webgpu' ${errText(e)}`, { cause: e });
    }
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  }
  const adapter = await (
    g.navigator!.gpu as { requestAdapter(): Promise<unknown> }
  ).requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter found');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to start');
  return 'a WebGPU adapter was found';
}

async function tryWasm(opts: SetBackendOptions): Promise<string> {
  await import('@tensorflow/tfjs-backend-wasm');
  registerWasmTrainingKernels();
  registerTypedGradKernels('wasm');
  registerOptimKernels();
  registerBatchNormKernels('wasm');
  if (opts.wasmThreads !== undefined) {
    return `embedded wasm, ${(await enableWasmThreads(opts.wasmThreads)).reason}`;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to start');
  return 'embedded wasm (SIMD) backend';
}

async function tryCpu(): Promise<string> {
  registerTypedGradKernels('cpu');
  registerOptimKernels();
  registerBatchNormKernels('cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to start');
  // The cpu backend advertises tfjs-node on first use; setBackend already said why cpu.
  (tf.findBackend('cpu') as unknown as { firstUse?: boolean }).firstUse = false;
  return 'plain JavaScript backend';
}

const ATTEMPTS: Record<Exclude<BackendName, 'auto'>, Attempt> = {
  tensorflow: tryTensorflow,
  webgpu: tryWebgpu,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Activate a backend. A named backend that cannot start is an error; `auto`
 * tries tensorflow, webgpu, wasm, cpu in that order and reports why each
 * earlier one was passed over.
 *
 * @example
 * ```ts
 * const { name, reason } = await setBackend('auto');
 * // on a machine without tfjs-node or a GPU:
 * // name === 'wasm', reason === 'wasm: embedded wasm (SIMD) backend (tensorflow: tfjs-node-gpu and tfjs-node: not installed; webgpu: package \'webgpu\' not installed)'
 * ```
 */
export async function setBackend(
  name: BackendName = 'auto',
  opts: SetBackendOptions = {},
): Promise<BackendChoice> {
  registerConvGradients();
  if (!BACKEND_NAMES.includes(name)) {
    throw new Error(
      `--backend: expected one of ${BACKEND_NAMES.join(' | ')}, got ${JSON.stringify(name)}`,
    );
  }
  opts = { ...opts, wasmThreads: resolveWasmThreads(opts.wasmThreads) };
  const order: Exclude<BackendName, 'auto'>[] =
    name === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [name];
  const skipped: string[] = [];
  for (const candidate of order) {
    try {
      const why = await ATTEMPTS[candidate](opts);
      const reason = `${candidate}: ${why}${skipped.length ? ` (${skipped.join('; ')})` : ''}`;
      return { name: candidate, reason };
    } catch (e) {
      if (name !== 'auto')
        throw new Error(`backend '${candidate}' cannot start: ${errText(e)}`, { cause: e });
      skipped.push(`${candidate}: ${errText(e)}`);
    }
  }
  throw new Error(`no tfjs backend could start (${skipped.join('; ')})`);
}
