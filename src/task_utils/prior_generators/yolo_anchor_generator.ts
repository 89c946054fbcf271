/**
 * YOLO priors (mmdet `YOLOAnchorGenerator`, Redmon & Farhadi 2018): fixed
 * anchor sizes `[w, h]` per level, every anchor centred on its grid cell
 * (`stride / 2` from the cell's corner), and the "responsible" flags of
 * YOLOv3's assignment: the anchors of the cell that holds a gt box's centre.
 */
import { TASK_UTILS } from '../../registry.js';
import { BasePriorGenerator, toPair, type Pair } from './base_prior_generator.js';

/** Options of {@link YOLOAnchorGenerator}. */
export interface YOLOAnchorGeneratorConfig {
  strides: (number | Pair)[];
  /** Per level, the anchors' `[w, h]` (or a single size). */
  baseSizes: (number | Pair)[][];
}

function checkConfig(cfg: YOLOAnchorGeneratorConfig): void {
  const bad = (field: string, v: unknown, want: string): Error =>
    new Error(`YOLOAnchorGenerator: '${field}' must be ${want}, got ${JSON.stringify(v)}.`);
  if (!cfg || typeof cfg !== 'object') throw bad('config', cfg, 'an object {strides, baseSizes}');
  if (!Array.isArray(cfg.strides) || cfg.strides.length === 0)
    throw bad('strides', cfg.strides, 'a non-empty array of positive numbers');
  cfg.strides.forEach((s, i) => {
    const ok =
      typeof s === 'number'
        ? s > 0
        : Array.isArray(s) && s.length === 2 && s.every((v) => typeof v === 'number' && v > 0);
    if (!ok) throw bad(`strides.${i}`, s, 'a positive number or [strideW, strideH]');
  });
  if (!Array.isArray(cfg.baseSizes) || cfg.baseSizes.length !== cfg.strides.length) {
    throw bad(
      'baseSizes',
      cfg.baseSizes,
      `one list of [w, h] sizes per stride (${cfg.strides.length})`,
    );
  }
  cfg.baseSizes.forEach((level, l) => {
    if (!Array.isArray(level) || level.length === 0)
      throw bad(`baseSizes.${l}`, level, 'a non-empty list of [w, h]');
    level.forEach((s, k) => {
      const ok =
        typeof s === 'number'
          ? s > 0
          : Array.isArray(s) && s.length === 2 && s.every((v) => typeof v === 'number' && v > 0);
      if (!ok) throw bad(`baseSizes.${l}.${k}`, s, 'a positive size or [w, h]');
    });
  });
}

/**
 * YOLO anchors (mmdet `YOLOAnchorGenerator`): fixed `[w, h]` per level,
 * centred at `stride / 2`.
 *
 * @example
 * ```ts
 * new YOLOAnchorGenerator({ strides: [32], baseSizes: [[[116, 90]]] }).baseAnchors[0];
 * // => Float32Array [-42, -29, 74, 61]
 * ```
 *
 * The anchors of level `l` are `[cx - w/2, cy - h/2, cx + w/2, cy + h/2]`
 * with `(cx, cy) = (x + 0.5, y + 0.5) * stride` for cell (y, x), ordered
 * (y, x, anchor) as every prior generator here. Levels are listed as the head
 * lists them (mmdet's YOLOv3: stride 32 first).
 *
 * @example
 * ```ts
 * const gen = new YOLOAnchorGenerator({ strides: [32, 16], baseSizes: [[[116, 90]], [[30, 61]]] });
 * gen.baseAnchors[0]; // => Float32Array [-42, -29, 74, 61]
 * gen.baseAnchors[1]; // => Float32Array [-7, -22.5, 23, 38.5]
 * // a gt centred at (40, 20): cell (0, 1) at stride 32 (2x2 map), cell (1, 2) at stride 16 (4x4 map)
 * gen.responsibleFlagsHost([[2, 2], [4, 4]], Float32Array.of(30, 10, 50, 30));
 * // => [Uint8Array [0, 1, 0, 0], Uint8Array [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]]
 * ```
 */
export class YOLOAnchorGenerator extends BasePriorGenerator {
  readonly baseSizes: Pair[][];
  readonly baseAnchors: Float32Array[];
  /** Per-level anchor centres `[cx, cy]` of cell (0, 0): half a stride (mmdet `centers`). */
  readonly centers: Pair[];

  constructor(cfg: YOLOAnchorGeneratorConfig) {
    checkConfig(cfg);
    super(cfg.strides);
    if (!Array.isArray(cfg.baseSizes) || cfg.baseSizes.length !== this.strides.length) {
      throw new Error(
        `YOLOAnchorGenerator: 'baseSizes' needs one list per stride (${this.strides.length}).`,
      );
    }
    const per = cfg.baseSizes[0].length;
    if (cfg.baseSizes.some((l) => l.length !== per))
      throw new Error('YOLOAnchorGenerator: every level must have the same number of anchors.');
    this.baseSizes = cfg.baseSizes.map((l) => l.map(toPair));
    this.baseAnchors = this.baseSizes.map((sizes, i) => {
      const [cx, cy] = [this.strides[i][0] / 2, this.strides[i][1] / 2];
      return Float32Array.from(
        sizes.flatMap(([w, h]) => [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h]),
      );
    });
    this.centers = this.strides.map(([sw, sh]) => [sw / 2, sh / 2]);
  }

  /**
   * Per level, 1 for every anchor of a cell that contains the centre of one
   * of `gtBboxes` (`n*4`, input pixels): cell `(floor(cy / strideH),
   * floor(cx / strideW))` (mmdet `responsible_flags`). A centre outside the
   * map flags nothing on that level.
   */
  responsibleFlagsHost(featmapSizes: Pair[], gtBboxes: Float32Array): Uint8Array[] {
    if (!Array.isArray(featmapSizes) || featmapSizes.length !== this.numLevels) {
      throw new Error(
        `YOLOAnchorGenerator.responsibleFlags: expected ${this.numLevels} feature map sizes [h, w], got ${JSON.stringify(featmapSizes)}.`,
      );
    }
    if (gtBboxes.length % 4)
      throw new Error(
        `YOLOAnchorGenerator.responsibleFlags: 'gtBboxes' must hold n*4 values, got ${gtBboxes.length}.`,
      );
    const g = gtBboxes.length >> 2;
    return featmapSizes.map(([fh, fw], l) => {
      const [sw, sh] = this.strides[l];
      const A = this.numBasePriors[l];
      const out = new Uint8Array(fh * fw * A);
      for (let j = 0; j < g; j++) {
        const gx = Math.floor(((gtBboxes[4 * j] + gtBboxes[4 * j + 2]) * 0.5) / sw);
        const gy = Math.floor(((gtBboxes[4 * j + 1] + gtBboxes[4 * j + 3]) * 0.5) / sh);
        if (gx < 0 || gy < 0 || gx >= fw || gy >= fh) continue;
        out.fill(1, (gy * fw + gx) * A, (gy * fw + gx + 1) * A);
      }
      return out;
    });
  }
}

TASK_UTILS.register(YOLOAnchorGenerator, { name: 'YOLOAnchorGenerator' });
