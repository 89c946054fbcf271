/**
 * Run a trained model on image files; writes one JSON with the predictions
 * of every image and, per image, a PNG with them drawn: boxes with labels
 * and scores, instance masks (translucent, in instance colours) when the
 * model predicts masks, and the label map (palette overlay) of a
 * segmentor, which is also written as an indexed PNG.
 *
 *   npx tsx tools/infer.ts CONFIG CHECKPOINT IMAGE... [--out-dir DIR] [--score-thr 0.3] [--backend NAME]
 *
 * The test pipeline of the config (`testDataloader.dataset.pipeline`, with
 * the annotation loading dropped) prepares each image; boxes, masks and
 * label maps are reported in original-image pixels.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setBackend, type BackendName } from '../src/backend/index.js';
import { loadConfig } from '../src/config/index.js';
import { runCli } from '../src/engine/cli.js';
import { registerAllModules } from '../src/engine/register_all.js';
import { collate, Compose, readImageSize, type PackedInputs } from '../src/datasets/index.js';
import { encodeIndexedPng, vocPalette } from '../src/datasets/index.js';
import type { InstanceData } from '../src/structures/index.js';
import type { ImgMeta } from '../src/structures/index.js';
import { rleEncode } from '../src/masks/index.js';
import { loadCheckpoint, setInitSeed, type Module } from '../src/nn/index.js';
import { MODELS } from '../src/registry.js';
import { drawPrediction, writeImage } from '../src/visualization/index.js';

/** What `predict` gives per image: detections (with masks for Mask R-CNN) and/or a label map. */
interface Prediction {
  metainfo?: ImgMeta;
  predInstances?: InstanceData;
  predSemSeg?: { data: Uint8Array; height: number; width: number };
}

const HELP = `usage: tools/infer.ts CONFIG CHECKPOINT IMAGE... [--out-dir DIR] [--score-thr T] [--backend NAME]

  Draws boxes, instance masks and label maps into DIR/<image>_pred.png, writes
  label maps as DIR/<image>_seg.png and every prediction to DIR/results.json.

  --out-dir DIR     where results.json and the drawn images go (default work_dirs/infer)
  --score-thr T     draw and report detections with score >= T (default 0.3)
  --backend NAME    auto | tensorflow | webgpu | wasm | cpu (default auto)
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'out-dir': { type: 'string', default: 'work_dirs/infer' },
      'score-thr': { type: 'string', default: '0.3' },
      backend: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (positionals.length < 3)
    throw new Error(
      `expected CONFIG CHECKPOINT IMAGE..., got ${positionals.length} arguments (see --help)`,
    );
  const [configFile, ckptFile, ...images] = positionals as [string, string, ...string[]];
  for (const f of [configFile, ckptFile, ...images])
    if (!fs.existsSync(f)) throw new Error(`file not found: ${f}`);
  const scoreThr = Number(values['score-thr']);
  if (!(scoreThr >= 0 && scoreThr <= 1))
    throw new Error(
      `--score-thr: expected a number in [0, 1], got ${JSON.stringify(values['score-thr'])}`,
    );
  const backend = await setBackend(values.backend as BackendName);
  console.log(`backend: ${backend.reason}`);
  await registerAllModules();
  const cfg = await loadConfig(configFile);
  setInitSeed(0);
  const model = MODELS.build<Module & { predict(b: unknown): Prediction[] }>(cfg.model, {
    path: 'model',
  });
  const ckpt = loadCheckpoint(ckptFile);
  const report = model.loadStateDict(ckpt.state, { strict: false });
  if (report.missingKeys.length || report.mismatchedKeys.length) {
    throw new Error(
      `${ckptFile} does not fit ${configFile}: ${report.missingKeys.length} missing, ${report.mismatchedKeys.length} mismatched keys (first: ${[...report.missingKeys, ...report.mismatchedKeys][0]})`,
    );
  }
  model.eval();
  const pipelineCfg = ((cfg.testDataloader ?? cfg.valDataloader)?.dataset?.pipeline ?? []) as {
    type: string;
  }[];
  const pipeline = new Compose(pipelineCfg.filter((t) => t.type !== 'LoadAnnotations'));
  const dsCfg = (cfg.testDataloader ?? cfg.valDataloader)?.dataset;
  const classes: string[] = cfg.classes ?? dsCfg?.metainfo?.classes ?? [];
  // a data set's own palette (mmseg metainfo) for label maps, else VOC's
  const palette: number[][] | undefined = dsCfg?.metainfo?.palette;
  const outDir = values['out-dir'];
  fs.mkdirSync(outDir, { recursive: true });
  const results: unknown[] = [];
  for (const [i, file] of images.entries()) {
    const size = readImageSize(file);
    if (!size) throw new Error(`${file}: not a readable image (JPEG, PNG, ...)`);
    const packed = (await pipeline.run({
      imgPath: file,
      imgId: i,
      width: size.width,
      height: size.height,
      instances: [],
    })) as unknown as PackedInputs;
    const batch = collate([packed]);
    const t0 = performance.now();
    const [pred] = model.predict(batch);
    const ms = performance.now() - t0;
    batch.inputs.dispose();
    if (!pred) throw new Error(`${file}: the model returned no prediction`);
    const base = path.join(outDir, path.basename(file).replace(/\.\w+$/, ''));
    const entry: Record<string, unknown> = {
      image: file,
      width: size.width,
      height: size.height,
      ms: Math.round(ms),
    };
    const notes: string[] = [];
    const p = pred.predInstances;
    if (p) {
      const keep = Array.from(p.scores.keys()).filter((k) => p.scores[k] >= scoreThr);
      const [h, w] = pred.metainfo?.oriShape ?? [size.height, size.width];
      entry.detections = keep.map((k) => ({
        bbox: Array.from(p.bboxes.subarray(4 * k, 4 * k + 4), (v) => Math.round(v * 100) / 100),
        score: Math.round(p.scores[k] * 1e4) / 1e4,
        label: p.labels[k],
        className: classes[p.labels[k]] ?? String(p.labels[k]),
        ...(p.masks ? { segmentation: rleEncode(p.masks[k], h, w) } : {}),
      }));
      notes.push(`${keep.length} detections${p.masks ? ' with masks' : ''}`);
    }
    if (pred.predSemSeg) {
      const seg = pred.predSemSeg;
      const segFile = `${base}_seg.png`;
      const pal = palette ? Uint8Array.from(palette.flat()) : vocPalette();
      fs.writeFileSync(segFile, encodeIndexedPng(seg.data, seg.width, seg.height, pal));
      const counts = new Map<number, number>();
      for (const v of seg.data) counts.set(v, (counts.get(v) ?? 0) + 1);
      entry.semSeg = {
        labelMap: segFile,
        classes: [...counts]
          .sort((a, b) => a[0] - b[0])
          .map(([label, pixels]) => ({
            label,
            className: classes[label] ?? String(label),
            pixels,
          })),
      };
      notes.push(`label map with ${counts.size} classes`);
    }
    const out = `${base}_pred.png`;
    const img = await drawPrediction(
      file,
      { predInstances: p, predSemSeg: pred.predSemSeg },
      { classNames: classes, scoreThr, palette },
    );
    await writeImage(img, out);
    entry.drawn = out;
    results.push(entry);
    console.log(`${file}: ${notes.join(', ') || 'no prediction'} (${ms.toFixed(0)} ms) -> ${out}`);
  }
  const json = path.join(outDir, 'results.json');
  fs.writeFileSync(
    json,
    JSON.stringify({ config: configFile, checkpoint: ckptFile, scoreThr, results }, null, 2),
  );
  console.log(`wrote ${json}`);
}

runCli(main);
