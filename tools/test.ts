/**
 * Evaluate a checkpoint on the config's test set.
 *
 *   npx tsx tools/test.ts CONFIG CHECKPOINT [--out results.json] [--show-dir DIR] [--json] [--backend NAME]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setBackend, type BackendName } from '../src/backend/index.js';
import { loadConfig } from '../src/config/index.js';
import { EMAHook, Hook, Runner } from '../src/engine/index.js';
import { registerAllModules } from '../src/engine/register_all.js';
import { assertFullLoad, CheckpointError, loadCheckpoint } from '../src/nn/index.js';
import { ensureDir, writeFileAtomic } from '../src/utils/fs.js';
import { preprocessArgv, runCli } from '../src/engine/cli.js';

const HELP = `usage: tools/test.ts CONFIG CHECKPOINT [options]

Run the test loop of CONFIG with the weights of CHECKPOINT and print the metrics.

options:
  --out FILE               write the predictions: COCO results JSON (through CocoMetric's export) or, for
                           other metrics, one JSON object per image
  --show-dir DIR           draw the predictions onto the images into DIR
  --score-thr T            score threshold of --show-dir (default 0.3)
  --json                   print the metrics as one JSON object on the last line
  --no-ema                 test the raw weights even when the checkpoint has EMA weights
  --allow-partial          test even when the checkpoint lacks some of the model's weights or their shapes
                           differ (those keep their initial values); without it that is an error
  --work-dir DIR           where the test log goes (default work_dirs/<config name>)
  --cfg-options K=V [...]  override config keys
  --backend NAME           auto | tensorflow | webgpu | wasm | cpu (default: the config's backend, else auto)
  --allow-imports          let a JSON config or an override import the modules in its customImports
  -h, --help               show this help
`;

type Sample = Record<string, any>;

/** Collects every prediction of the test loop (for --out and --show-dir). */
class CollectHook extends Hook {
  samples: Sample[] = [];
  override afterTestIter(_r: Runner, _i: number, _b: unknown, outputs: unknown[]): void {
    for (const o of outputs) this.samples.push(o as Sample);
  }
}

const plain = (v: unknown): unknown =>
  ArrayBuffer.isView(v)
    ? Array.from(v as unknown as ArrayLike<number>)
    : Array.isArray(v)
      ? v.map(plain)
      : v;

async function showPredictions(
  samples: Sample[],
  dir: string,
  classes: string[] | undefined,
  scoreThr: number,
): Promise<number> {
  const { drawPrediction, writeImage } = await import('../src/visualization/index.js');
  ensureDir(dir);
  const names = new Set<string>();
  let n = 0;
  for (const s of samples) {
    const imgPath = (s.imgPath ?? s.metainfo?.imgPath) as string | undefined;
    // Whatever the model predicts: boxes (and instance masks) and/or a semantic label map.
    const pred = { predInstances: s.predInstances, predSemSeg: s.predSemSeg } as Parameters<
      typeof drawPrediction
    >[1];
    if (!imgPath || (!pred.predInstances && !pred.predSemSeg) || !fs.existsSync(imgPath)) continue;
    const img = await drawPrediction(imgPath, pred, { classNames: classes, scoreThr });
    // a/x.jpg and b/x.jpg: the second becomes x_1.png (unique, in test order)
    const stem = path.basename(imgPath).replace(/\.[^.]+$/, '');
    let name = stem;
    for (let k = 1; names.has(name); k++) name = `${stem}_${k}`;
    names.add(name);
    await writeImage(img, path.join(dir, `${name}.png`));
    n++;
  }
  return n;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: preprocessArgv(process.argv.slice(2)),
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'show-dir': { type: 'string' },
      'score-thr': { type: 'string' },
      json: { type: 'boolean' },
      'no-ema': { type: 'boolean' },
      'allow-partial': { type: 'boolean' },
      'work-dir': { type: 'string' },
      'cfg-options': { type: 'string', multiple: true },
      backend: { type: 'string' },
      'allow-imports': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (positionals.length !== 2)
    throw new Error(
      `expected CONFIG and CHECKPOINT, got ${positionals.length} argument(s) (see --help)`,
    );
  const [file, ckpt] = positionals as [string, string];
  if (!fs.existsSync(file)) throw new Error(`config file not found: ${file}`);
  if (!fs.existsSync(ckpt)) throw new CheckpointError(ckpt, 'not found');
  await registerAllModules();
  const cfg = await loadConfig(file, {
    cfgOptions: values['cfg-options'] ?? [],
    allowImports: values['allow-imports'] ?? false,
  });
  if (values['work-dir']) cfg.workDir = values['work-dir'];
  cfg.resume = false;
  cfg.loadFrom = null;
  const out = values.out ? path.resolve(values.out) : undefined;
  let cocoPrefix: string | undefined;
  const evalKey = cfg.testEvaluator ? 'testEvaluator' : 'valEvaluator';
  if (out && cfg[evalKey]?.type === 'CocoMetric') {
    cocoPrefix = out.replace(/\.json$/, '');
    cfg[evalKey] = { ...cfg[evalKey], outfilePrefix: cocoPrefix };
  }
  const choice = await setBackend((values.backend ?? cfg.backend ?? 'auto') as BackendName);
  console.log(`backend: ${choice.reason}`);
  const runner = new Runner(cfg, { configFile: file });
  const report = await runner.loadFrom(ckpt);
  if (!values['allow-partial']) assertFullLoad(report, ckpt, file);
  else if (report.missingKeys.length || report.mismatchedKeys.length)
    console.log(`warning: ${ckpt} does not cover the whole model (see the line above)`);
  // Like mmdetection (whose checkpoints hold the EMA weights), test with the averaged weights when the
  // checkpoint has them.
  const ck = loadCheckpoint(ckpt);
  const ema = new Map(
    [...ck.optimizerState]
      .filter(([k]) => k.startsWith('hook:EMAHook/'))
      .map(([k, t]) => [k.slice('hook:EMAHook/'.length), t]),
  );
  if (ema.size && !values['no-ema']) {
    const r = runner.model.loadStateDict(ema, { strict: false });
    console.log(
      `using the EMA weights saved with the checkpoint (${ema.size - r.unexpectedKeys.length - r.mismatchedKeys.length} tensors; --no-ema for the raw ones)`,
    );
    for (let i = runner.hooks.length - 1; i >= 0; i--)
      if (runner.hooks[i] instanceof EMAHook) runner.hooks.splice(i, 1);
  }
  for (const t of [...ck.state.values(), ...ck.optimizerState.values()]) t.dispose();
  const collect = new CollectHook();
  runner.registerHook(collect, 'LOWEST');
  const metrics = await runner.test();
  if (out) {
    if (cocoPrefix && fs.existsSync(`${cocoPrefix}.bbox.json`)) {
      fs.renameSync(`${cocoPrefix}.bbox.json`, out);
      const segm = `${cocoPrefix}.segm.json`;
      console.log(`wrote COCO results ${out}${fs.existsSync(segm) ? ` and ${segm}` : ''}`);
    } else {
      const rows = collect.samples.map(
        (s) => JSON.parse(JSON.stringify(s, (_k, v: unknown) => plain(v))) as unknown,
      );
      ensureDir(path.dirname(out));
      writeFileAtomic(out, `${JSON.stringify(rows)}\n`);
      console.log(`wrote ${rows.length} predictions to ${out}`);
    }
  }
  if (values['show-dir']) {
    const classes =
      (runner.testLoop as { dataloader?: { dataset?: { metainfo?: { classes?: string[] } } } })
        .dataloader?.dataset?.metainfo?.classes ?? undefined;
    const n = await showPredictions(
      collect.samples,
      values['show-dir'],
      classes,
      Number(values['score-thr'] ?? 0.3),
    );
    console.log(
      `drew ${n} of ${collect.samples.length} images into ${values['show-dir']}${n < collect.samples.length ? ' (the others have no image file)' : ''}`,
    );
  }
  if (values.json) console.log(JSON.stringify(metrics));
  runner.dispose();
}

runCli(main);
