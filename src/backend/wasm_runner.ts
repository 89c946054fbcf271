/** What the wasm training kernels need of tfjs' wasm backend, and a runner that calls its kernels. */
import {
  backend_util,
  getKernel,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** The parts of tfjs' BackendWasm these kernels use. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32' | 'bool'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): backend_util.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Runs wasm kernels on behalf of one of ours and frees the temporaries it made. */
export class KernelRunner {
  private readonly temps: TensorInfo[] = [];
  constructor(readonly backend: WasmBackend) {}

  /** Frees `t` with the other temporaries. */
  track(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  /** Runs a wasm kernel; the result is freed by {@link dispose} unless `keep`. */
  run(
    name: string,
    inputs: NamedTensorInfoMap,
    attrs: NamedAttrMap = {},
    keep = false,
  ): TensorInfo {
    const k = getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm kernel ${name} is not registered`);
    const out = k.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
    if (!keep) this.temps.push(out);
    return out;
  }

  transpose(x: TensorInfo, perm: number[], keep = false): TensorInfo {
    return this.run('Transpose', { x }, { perm }, keep);
  }

  reshape(x: TensorInfo, shape: number[], keep = false): TensorInfo {
    return this.run('Reshape', { x }, { shape }, keep);
  }

  slice(x: TensorInfo, begin: number[], size: number[], keep = false): TensorInfo {
    return this.run('Slice', { x }, { begin, size }, keep);
  }

  pad(x: TensorInfo, paddings: [number, number][]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}
