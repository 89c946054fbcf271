/**
 * DeepLabV3 R-50-D8 (mmseg `deeplabv3_r50-d8.py`): ResNetV1c-50 at output
 * stride 8, an ASPPHead (image pool + 1x1 + 3x3 at dilations 12, 24, 36) on
 * stage 4 and an auxiliary FCNHead on stage 3 (loss weight 0.4).
 * `pretrained` names a local safetensors file, none by default.
 */
const normCfg = { type: 'BN', requiresGrad: true };
export default {
  model: {
    type: 'EncoderDecoder',
    pretrained: null,
    backbone: {
      type: 'ResNetV1c',
      depth: 50,
      numStages: 4,
      outIndices: [0, 1, 2, 3],
      dilations: [1, 1, 2, 4],
      strides: [1, 2, 1, 1],
      normCfg,
      normEval: false,
      style: 'pytorch',
      contractDilation: true,
    },
    decodeHead: {
      type: 'ASPPHead',
      inChannels: 2048,
      inIndex: 3,
      channels: 512,
      dilations: [1, 12, 24, 36],
      dropoutRatio: 0.1,
      numClasses: 19,
      normCfg,
      alignCorners: false,
      lossDecode: {
        type: 'CrossEntropyLoss',
        useSigmoid: false,
        lossWeight: 1.0,
        ignoreIndex: 255,
      },
    },
    auxiliaryHead: {
      type: 'FCNHead',
      inChannels: 1024,
      inIndex: 2,
      channels: 256,
      numConvs: 1,
      concatInput: false,
      dropoutRatio: 0.1,
      numClasses: 19,
      normCfg,
      alignCorners: false,
      lossDecode: {
        type: 'CrossEntropyLoss',
        useSigmoid: false,
        lossWeight: 0.4,
        ignoreIndex: 255,
      },
    },
    trainCfg: {},
    testCfg: { mode: 'whole' },
  },
};
