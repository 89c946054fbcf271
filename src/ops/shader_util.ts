/**
 * Helpers shared by the WGSL (webgpu) and GLSL (webgl) programs of the
 * `Tfdet*` kernels (`src/ops/<op>/webgpu.ts`, `src/ops/<op>/webgl.ts`).
 * Importing them in Node is harmless: the webgpu and webgl backends only
 * register in a browser, and a kernel registered for an absent backend is
 * never called.
 *
 * Attributes are baked into the shader source (and its cache key) since a
 * detector uses a handful of distinct values.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { GPGPUProgram, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import {
  webgpu_util,
  type WebGPUBackend,
  type WebGPUProgram,
} from '@tensorflow/tfjs-backend-webgpu';

/** A float literal for WGSL/GLSL source. */
export const lit = (x: number): string => {
  if (!Number.isFinite(x)) throw new Error(`cannot bake ${x} into a shader`);
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
};

/** A flat-dispatch WGSL program: one invocation per output element, `main(index)`. */
export class WgslProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  private readonly code: string;

  constructor(key: string, variableNames: string[], outputShape: number[], code: string) {
    this.shaderKey = key;
    this.variableNames = variableNames;
    this.outputShape = outputShape;
    this.code = code;
    this.dispatchLayout = webgpu_util.flatDispatchLayout(outputShape);
    this.dispatch = webgpu_util.computeDispatch(
      this.dispatchLayout,
      outputShape,
      this.workgroupSize,
    );
  }

  getUserCode(): string {
    return this.code;
  }
}

/** Runs a {@link WgslProgram} on the webgpu backend of a kernel call. */
export function runWebGPU(
  backend: unknown,
  program: WgslProgram,
  inputs: tf.TensorInfo[],
  dtype: tf.DataType,
): tf.TensorInfo {
  return (backend as WebGPUBackend).runWebGPUProgram(program, inputs, dtype);
}

/** Runs a GLSL program on the webgl backend of a kernel call. */
export function runWebGL(
  backend: unknown,
  program: GPGPUProgram,
  inputs: tf.TensorInfo[],
  dtype: tf.DataType,
): tf.TensorInfo {
  return (backend as MathBackendWebGL).runWebGLProgram(program, inputs, dtype);
}

/** A GLSL program (WebGL2, unpacked textures); the source is its cache key. */
export const glslProgram = (
  variableNames: string[],
  outputShape: number[],
  userCode: string,
): GPGPUProgram => ({
  variableNames,
  outputShape,
  userCode,
});
