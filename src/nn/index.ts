export * from './module.js';
export * from './container.js';
// Evaluated in this order, the layer files register Conv2d, ConvModule,
// ConvTranspose2d, Linear, Identity in MODELS in that order.
export * from './conv.js';
export * from './conv_module.js';
export * from './conv_transpose.js';
export * from './norm.js';
export * from './activation.js';
export * from './linear.js';
export * from './dropout.js';
export * from './pooling.js';
export * from './upsample.js';
export * from './checkpoint.js';
export * from './pth.js';
export { TorchTensor, type TorchDtype } from './torch_tensor.js';
export {
  unpickle,
  PickleError,
  type PyCallable,
  type UnpickleOptions,
  type Unpickled,
} from './pickle.js';
export * as init from './init.js';
export { setInitSeed, biasInitWithProb } from './init.js';
