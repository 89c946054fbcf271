/**
 * Choosing the tfjs backend in a web page: WebGPU, WebGL, wasm (SIMD, with
 * its `.wasm` files served beside the bundle) or the plain JavaScript cpu
 * backend, with the kernels this library adds registered for each (the ops'
 * WGSL and GLSL programs register on import; the training kernels of the
 * wasm and cpu backends here). The Node counterpart is `src/backend`.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's ES module registers neither the gradients nor the chained
// tensor methods (`x.add(y)`) by itself.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerBatchNormKernels } from '../backend/batch_norm_kernels.js';
import { registerConvGradients } from '../backend/gradients.js';
import { registerOptimKernels } from '../backend/optim_kernels.js';
import { registerTypedGradKernels } from '../backend/typed_kernels.js';
import { registerWasmTrainingKernels } from '../backend/wasm_kernels.js';

/** Backends a page can ask for. */
export type BrowserBackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BROWSER_BACKENDS: readonly BrowserBackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Options of {@link setBackend}. */
export interface BrowserBackendOptions {
  /**
   * Where the wasm backend's `.wasm` files are served (a URL ending in `/`);
   * default: the folder of this bundle (`dist/browser/`).
   */
  wasmPath?: string;
}

let wasmPathSet = false;

/** What {@link setBackend} chose: the backend and one line saying why. */
export interface BrowserBackendChoice {
  name: BrowserBackendName;
  reason: string;
}

async function start(name: BrowserBackendName, opts: BrowserBackendOptions): Promise<string> {
  if (name === 'webgpu') {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } })?.gpu;
    if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is undefined)');
    if (!(await gpu.requestAdapter())) throw new Error('no WebGPU adapter found');
  }
  if (name === 'wasm') {
    if (!wasmPathSet) {
      setWasmPaths(opts.wasmPath ?? new URL('./', import.meta.url).href);
      wasmPathSet = true;
    }
    registerWasmTrainingKernels();
    registerTypedGradKernels('wasm');
    registerOptimKernels();
    registerBatchNormKernels('wasm');
  }
  if (name === 'cpu') {
    registerTypedGradKernels('cpu');
    registerOptimKernels();
    registerBatchNormKernels('cpu');
  }
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend failed to start`);
  await tf.ready();
  if (name === 'webgpu') refuseSyncReads(tf.backend());
  return tf.getBackend() === name ? 'started' : `tfjs chose ${tf.getBackend()} instead`;
}

const guarded = new WeakSet<object>();

/**
 * Makes a synchronous read of a GPU-resident tensor on webgpu (`dataSync`,
 * `arraySync`) an error that says so. tfjs' webgpu `readSync` copies through
 * an OffscreenCanvas; in a worker under SwiftShader it returned zeros and
 * lost the device, so a model path that reads synchronously would compute on
 * wrong values. Tensors whose values are still on the CPU read as before.
 */
function refuseSyncReads(backend: object): void {
  if (guarded.has(backend)) return;
  guarded.add(backend);
  const b = backend as {
    readSync(dataId: object): unknown;
    tensorMap: { get(id: object): { values?: unknown; dtype: string } | undefined };
  };
  const readSync = b.readSync.bind(b);
  b.readSync = (dataId: object) => {
    const d = b.tensorMap.get(dataId);
    if (d && d.values == null && d.dtype !== 'string')
      throw new Error(
        "webgpu: a tensor on the GPU was read synchronously (dataSync/arraySync), which webgpu does not do reliably; this path needs setBackend('webgl') or 'wasm', or an asynchronous read (await t.data())",
      );
    return readSync(dataId);
  };
}

/**
 * Activates a backend in the page. One that cannot start is an error that
 * says why (no WebGPU adapter, no WebGL context, the `.wasm` files not found).
 *
 * @example
 * ```ts
 * const { name, reason } = await setBackend('webgl'); // the page now runs on WebGL
 * ```
 */
export async function setBackend(
  name: BrowserBackendName,
  opts: BrowserBackendOptions = {},
): Promise<BrowserBackendChoice> {
  if (!BROWSER_BACKENDS.includes(name))
    throw new Error(
      `setBackend: expected one of ${BROWSER_BACKENDS.join(' | ')}, got ${JSON.stringify(name)}`,
    );
  registerConvGradients();
  try {
    return { name, reason: `${name}: ${await start(name, opts)}` };
  } catch (e) {
    throw new Error(`backend '${name}' cannot start: ${(e as Error).message}`, { cause: e });
  }
}
