/** Semantic segmentation (mmseg): the EncoderDecoder segmentor, its decode heads and ResNetV1c. */
export * from './resnet_v1c.js';
export * from './ohem_pixel_sampler.js';
export * from './decode_heads/index.js';
export * from './encoder_decoder.js';
