/**
 * Run a trained detector on image files; writes one JSON with the
 * detections of every image and, per image, a PNG with the boxes and labels
 * drawn.
 *
 *   npx tsx tools/infer.ts CONFIG CHECKPOINT IMAGE... [--out-dir DIR] [--score-thr 0.3] [--backend NAME]
 *
 * The test pipeline of the config (`testDataloader.dataset.pipeline`, with
 * the annotation loading dropped) prepares each image; boxes are reported in
 * original-image pixels.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setBackend, type BackendName } from '../src/backend/index.js';
import '../src/backbones/index.js';
import '../src/necks/index.js';
import { loadConfig } from '../src/config/index.js';
import { collate, Compose, readImageSize, type PackedInputs } from '../src/datasets/index.js';
import '../src/detectors/index.js';
import { drawDetections } from '../src/detectors/draw.js';
import type { DetDataSample } from '../src/heads/types.js';
import { loadCheckpoint, setInitSeed, type Module } from '../src/nn/index.js';
import { MODELS } from '../src/registry.js';

const HELP = `usage: tools/infer.ts CONFIG CHECKPOINT IMAGE... [--out-dir DIR] [--score-thr T] [--backend NAME]

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
  if (positionals.length < 3) throw new Error(`expected CONFIG CHECKPOINT IMAGE..., got ${positionals.length} arguments (see --help)`);
  const [configFile, ckptFile, ...images] = positionals as [string, string, ...string[]];
  for (const f of [configFile, ckptFile, ...images]) if (!fs.existsSync(f)) throw new Error(`file not found: ${f}`);
  const scoreThr = Number(values['score-thr']);
  if (!(scoreThr >= 0 && scoreThr <= 1)) throw new Error(`--score-thr: expected a number in [0, 1], got ${JSON.stringify(values['score-thr'])}`);
  const backend = await setBackend(values.backend as BackendName);
  console.log(`backend: ${backend.reason}`);
  const cfg = await loadConfig(configFile);
  setInitSeed(0);
  const model = MODELS.build<Module & { predict(b: unknown): DetDataSample[] }>(cfg.model, { path: 'model' });
  const ckpt = loadCheckpoint(ckptFile);
  const report = model.loadStateDict(ckpt.state, { strict: false });
  if (report.missingKeys.length || report.mismatchedKeys.length) {
    throw new Error(`${ckptFile} does not fit ${configFile}: ${report.missingKeys.length} missing, ${report.mismatchedKeys.length} mismatched keys (first: ${[...report.missingKeys, ...report.mismatchedKeys][0]})`);
  }
  model.eval();
  const pipelineCfg = ((cfg.testDataloader ?? cfg.valDataloader)?.dataset?.pipeline ?? []) as { type: string }[];
  const pipeline = new Compose(pipelineCfg.filter((t) => t.type !== 'LoadAnnotations'));
  const classes: string[] = cfg.classes ?? cfg.testDataloader?.dataset?.metainfo?.classes ?? [];
  const outDir = values['out-dir']!;
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
    } as never)) as unknown as PackedInputs;
    const batch = collate([packed]);
    const t0 = performance.now();
    const [pred] = model.predict(batch);
    const ms = performance.now() - t0;
    batch.inputs.dispose();
    const p = pred!.predInstances;
    const keep = Array.from(p.scores.keys()).filter((k) => p.scores[k]! >= scoreThr);
    const dets = keep.map((k) => ({
      bbox: Array.from(p.bboxes.subarray(4 * k, 4 * k + 4), (v) => Math.round(v * 100) / 100),
      score: Math.round(p.scores[k]! * 1e4) / 1e4,
      label: p.labels[k]!,
      className: classes[p.labels[k]!] ?? String(p.labels[k]),
    }));
    const out = path.join(outDir, `${path.basename(file).replace(/\.\w+$/, '')}_det.png`);
    fs.writeFileSync(out, await drawDetections(file, p, classes, { scoreThr }));
    results.push({ image: file, width: size.width, height: size.height, ms: Math.round(ms), detections: dets, drawn: out });
    console.log(`${file}: ${dets.length} detections (${ms.toFixed(0)} ms) -> ${out}`);
  }
  const json = path.join(outDir, 'results.json');
  fs.writeFileSync(json, JSON.stringify({ config: configFile, checkpoint: ckptFile, scoreThr, results }, null, 2));
  console.log(`wrote ${json}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
