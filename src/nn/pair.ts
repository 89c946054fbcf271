/** Torch-style size arguments (an int or a pair) shared by the conv and pooling layers. */
export type Pair = number | [number, number];
export const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Symmetric (torch-style) padding as tfjs' explicit padding. */
export const explicitPad = (
  p: [number, number],
): [[0, 0], [number, number], [number, number], [0, 0]] => [
  [0, 0],
  [p[0], p[0]],
  [p[1], p[1]],
  [0, 0],
];
