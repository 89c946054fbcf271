/**
 * RetinaNet R-18-FPN (full width, P3-P5) on the synthetic shapes set at
 * 128x128: a larger sibling of `retinanet_r18_shapes.ts`.
 */
export default {
  _base_: './retinanet_r18_shapes.ts',
  model: {
    backbone: { _delete_: true, type: 'ResNet', depth: 18, outIndices: [1, 2, 3], normEval: false },
    neck: { type: 'FPN', inChannels: [128, 256, 512], outChannels: 128, startLevel: 0, numOuts: 3 },
    bboxHead: {
      inChannels: 128,
      featChannels: 128,
      anchorGenerator: {
        _delete_: true,
        type: 'AnchorGenerator',
        octaveBaseScale: 4,
        scalesPerOctave: 2,
        ratios: [0.5, 1.0, 2.0],
        strides: [8, 16, 32],
      },
    },
  },
};
