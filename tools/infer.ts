/**
 * Run a trained model on image files; writes one JSON with the predictions
 * of every image and, per image, a PNG with them drawn: boxes with labels
 * and scores, instance masks (translucent, in instance colours) when the
 * model predicts masks, and the label map (palette overlay) of a
 * segmentor, which is also written as an indexed PNG.
 *
 *   npx tsx tools/infer.ts CONFIG CHECKPOINT IMAGE... [--out-dir DIR] [--score-thr 0.3] [--backend NAME] [--no-draw]
 *
 * The test pipeline of the config (`testDataloader.dataset.pipeline`, with
 * the annotation loading dropped) prepares each image; boxes, masks and
 * label maps are reported in original-image pixels. An image that cannot be
 * read or run is reported and skipped; results.json is rewritten (atomically)
 * after every image, and the exit status is 1 when any image failed. Inputs
 * with the same base name (a/x.jpg, b/x.jpg) get distinct outputs (x, x_1),
 * numbered in the order given.
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
import { detectionEntries, semSegClasses, type InstanceData } from '../src/structures/index.js';
import type { ImgMeta } from '../src/structures/index.js';
import { assertFullLoad, loadCheckpoint, setInitSeed, type Module } from '../src/nn/index.js';
import { MODELS } from '../src/registry.js';
import { ensureDir, writeFileAtomic } from '../src/utils/fs.js';
import { drawPrediction, writeImage } from '../src/visualization/index.js';

/** What `predict` gives per image: detections (with masks for Mask R-CNN) and/or a label map. */
interface Prediction {
  metainfo?: ImgMeta;
  predInstances?: InstanceData;
  predSemSeg?: { data: Uint8Array; height: number; width: number };
}

const HELP = `usage: tools/infer.ts CONFIG CHECKPOINT IMAGE... [--out-dir DIR] [--score-thr T] [--backend NAME] [--no-draw]

  Draws boxes, instance masks and label maps into DIR/<image>_pred.png, writes
  label maps as DIR/<image>_seg.png and every prediction to DIR/results.json.
  Images that cannot be read are listed and skipped (exit status 1 at the end).

  --out-dir DIR     where results.json and the drawn images go (default work_dirs/infer)
  --score-thr T     draw and report detections with score >= T (default 0.3)
  --backend NAME    auto | tensorflow | webgpu | wasm | cpu (default auto)
  --no-draw         write results.json (and label maps) only, no drawn images
  --allow-imports   let a JSON config import the modules in its customImports
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'out-dir': { type: 'string', default: 'work_dirs/infer' },
      'score-thr': { type: 'string', default: '0.3' },
      backend: { type: 'string', default: 'auto' },
      'allow-imports': { type: 'boolean' },
      'no-draw': { type: 'boolean' },
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
  for (const f of [configFile, ckptFile])
    if (!fs.existsSync(f)) throw new Error(`file not found: ${f}`);
  const scoreThr = Number(values['score-thr']);
  if (!(scoreThr >= 0 && scoreThr <= 1))
    throw new Error(
      `--score-thr: expected a number in [0, 1], got ${JSON.stringify(values['score-thr'])}`,
    );
  // first, so that an unusable out dir fails before the model is built
  const outDir = ensureDir(values['out-dir']);
  const backend = await setBackend(values.backend as BackendName);
  console.log(`backend: ${backend.reason}`);
  await registerAllModules();
  const cfg = await loadConfig(configFile, { allowImports: values['allow-imports'] ?? false });
  setInitSeed(0);
  const model = MODELS.build<Module & { predict(b: unknown): Promise<Prediction[]> }>(cfg.model, {
    path: 'model',
  });
  const ckpt = loadCheckpoint(ckptFile);
  assertFullLoad(model.loadStateDict(ckpt.state, { strict: false }), ckptFile, configFile);
  model.eval();
  const pipelineCfg = (cfg.testPipeline ??
    (cfg.testDataloader ?? cfg.valDataloader)?.dataset?.pipeline ??
    []) as {
    type: string;
  }[];
  const pipeline = new Compose(pipelineCfg.filter((t) => t.type !== 'LoadAnnotations'));
  const dsCfg = (cfg.testDataloader ?? cfg.valDataloader)?.dataset;
  const classes: string[] = cfg.classes ?? dsCfg?.metainfo?.classes ?? [];
  // a data set's own palette (mmseg metainfo) for label maps, else VOC's
  const palette: number[][] | undefined = dsCfg?.metainfo?.palette;
  const json = path.join(outDir, 'results.json');
  const results: unknown[] = [];
  const failed: { image: string; error: string }[] = [];
  const bases = uniqueBases(images);
  const save = (): void =>
    writeFileAtomic(
      json,
      JSON.stringify(
        { config: configFile, checkpoint: ckptFile, scoreThr, results, failed },
        null,
        2,
      ),
    );
  const ctx = { model, pipeline, classes, palette, scoreThr, draw: !values['no-draw'] };
  for (const [i, file] of images.entries()) {
    try {
      results.push(await inferOne(ctx, file, i, path.join(outDir, bases[i])));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const error = msg.includes(file) ? msg : `${file}: ${msg}`;
      failed.push({ image: file, error });
      console.error(`skipped ${error}`);
    }
    save();
  }
  console.log(`wrote ${json} (${results.length} of ${images.length} images)`);
  if (failed.length)
    throw new Error(
      `${failed.length} of ${images.length} images failed (the others are in ${json}): ${failed.map((f) => f.error).join('; ')}`,
    );
}

/** Output stems, one per input: the base name, numbered `_1`, `_2`, ... where it repeats. */
function uniqueBases(images: string[]): string[] {
  const taken = new Set<string>();
  return images.map((file) => {
    const stem = path.basename(file).replace(/\.\w+$/, '');
    let name = stem;
    for (let k = 1; taken.has(name); k++) name = `${stem}_${k}`;
    taken.add(name);
    return name;
  });
}

interface InferContext {
  model: Module & { predict(b: unknown): Promise<Prediction[]> };
  pipeline: Compose;
  classes: string[];
  palette: number[][] | undefined;
  scoreThr: number;
  draw: boolean;
}

/** Runs one image, writes its drawing (and label map) under `base`, returns its results entry. */
async function inferOne(
  { model, pipeline, classes, palette, scoreThr, draw }: InferContext,
  file: string,
  i: number,
  base: string,
): Promise<Record<string, unknown>> {
  if (!fs.existsSync(file)) throw new Error(`${file}: file not found`);
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
  let pred: Prediction | undefined;
  try {
    [pred] = await model.predict(batch);
  } finally {
    // Freed also when predict throws: the next image must not inherit it.
    batch.inputs.dispose();
  }
  const ms = performance.now() - t0;
  if (!pred) throw new Error(`${file}: the model returned no prediction`);
  const entry: Record<string, unknown> = {
    image: file,
    width: size.width,
    height: size.height,
    ms: Math.round(ms),
  };
  const notes: string[] = [];
  const p = pred.predInstances;
  if (p) {
    const detections = detectionEntries(
      p,
      classes,
      scoreThr,
      pred.metainfo?.oriShape ?? [size.height, size.width],
    );
    entry.detections = detections;
    notes.push(`${detections.length} detections${p.masks ? ' with masks' : ''}`);
  }
  if (pred.predSemSeg) {
    const seg = pred.predSemSeg;
    const segFile = `${base}_seg.png`;
    const pal = palette ? Uint8Array.from(palette.flat()) : vocPalette();
    writeFileAtomic(segFile, encodeIndexedPng(seg.data, seg.width, seg.height, pal));
    const present = semSegClasses(seg.data, classes);
    entry.semSeg = { labelMap: segFile, classes: present };
    notes.push(`label map with ${present.length} classes`);
  }
  if (!draw) {
    console.log(`${file}: ${notes.join(', ') || 'no prediction'} (${ms.toFixed(0)} ms)`);
    return entry;
  }
  const out = `${base}_pred.png`;
  const img = await drawPrediction(
    file,
    { predInstances: p, predSemSeg: pred.predSemSeg },
    { classNames: classes, scoreThr, palette },
  );
  await writeImage(img, out);
  entry.drawn = out;
  console.log(`${file}: ${notes.join(', ') || 'no prediction'} (${ms.toFixed(0)} ms) -> ${out}`);
  return entry;
}

runCli(main);
