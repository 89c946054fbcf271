/**
 * Count a model's parameters and FLOPs, per module.
 *
 *   npx tsx tools/get_flops.ts CONFIG [--shape 800 1216] [--depth 2] [--backend NAME]
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend, type BackendName } from '../src/backend/index.js';
import { loadConfig } from '../src/config/index.js';
import { formatComplexityTable, humanCount, profileModel } from '../src/engine/complexity.js';
import { registerAllModules } from '../src/engine/register_all.js';
import type { Module } from '../src/nn/index.js';
import { MODELS } from '../src/registry.js';
import { preprocessArgv, runCli } from '../src/engine/cli.js';

const HELP = `usage: tools/get_flops.ts CONFIG [options]

Build the config's model, run one forward pass on a zero image of the given size and print the
parameters and FLOPs (multiply-accumulates of conv and linear layers, as mmcv counts them) per module.

options:
  --shape H [W]            input height and width (default 1280 800; one value means a square)
  --depth N                module depth of the table (default 2)
  --cfg-options K=V [...]  override config keys
  --backend NAME           auto | tensorflow | webgpu | wasm | cpu (default cpu)
  --allow-imports          let a JSON config or an override import the modules in its customImports
  -h, --help               show this help
`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // `--shape 800 1216`: parseArgs takes one value per flag, so fold the second number in.
  const i = argv.indexOf('--shape');
  if (
    i >= 0 &&
    argv[i + 2] !== undefined &&
    /^\d+$/.test(argv[i + 2]) &&
    /^\d+$/.test(argv[i + 1] ?? '')
  )
    argv.splice(i + 1, 2, `${argv[i + 1]},${argv[i + 2]}`);
  const { values, positionals } = parseArgs({
    args: preprocessArgv(argv),
    allowPositionals: true,
    options: {
      shape: { type: 'string' },
      depth: { type: 'string' },
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
  if (positionals.length !== 1)
    throw new Error(`expected one CONFIG argument, got ${positionals.length} (see --help)`);
  const file = positionals[0];
  if (!fs.existsSync(file)) throw new Error(`config file not found: ${file}`);
  const dims = (values.shape ?? '1280,800').split(',').map(Number);
  if (dims.length < 1 || dims.length > 2 || !dims.every((d) => Number.isInteger(d) && d > 0))
    throw new Error(
      `--shape: expected H [W] as positive integers, got ${JSON.stringify(values.shape)}`,
    );
  const [h, w] = dims.length === 1 ? [dims[0], dims[0]] : (dims as [number, number]);
  const depth = Number(values.depth ?? 2);
  await registerAllModules();
  const cfg = await loadConfig(file, {
    cfgOptions: values['cfg-options'] ?? [],
    allowImports: values['allow-imports'] ?? false,
  });
  await setBackend((values.backend ?? 'cpu') as BackendName);
  const model = MODELS.build<Module & { extractFeat?: (x: tf.Tensor) => unknown }>(cfg.model, {
    path: 'model',
  });
  model.eval();
  const x = tf.zeros([1, h, w, 3]);
  // A plain module takes the image; a detector takes a batch (mmdet's forward(inputs, dataSamples, mode='tensor')).
  const attempts: [string, () => unknown][] = [
    ['forward(inputs)', () => model.forward(x)],
    [
      "forward({inputs}, 'tensor')",
      () =>
        model.forward(
          {
            inputs: x,
            dataSamples: [
              { metainfo: { imgShape: [h, w], batchInputShape: [h, w], padShape: [h, w] } },
            ],
          },
          'tensor',
        ),
    ],
  ];
  if (typeof model.extractFeat === 'function')
    attempts.push(['extractFeat (backbone + neck only)', () => model.extractFeat!(x)]);
  let what = '';
  let rows;
  const errors: string[] = [];
  for (const [name, run] of attempts) {
    try {
      rows = await profileModel(model, run);
      what = name;
      break;
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!rows)
    throw new Error(`could not run the model on a [1, ${h}, ${w}, 3] input (${errors.join('; ')})`);
  console.log(formatComplexityTable(rows, depth));
  console.log('');
  console.log(`Input shape: (1, ${h}, ${w}, 3), counted through ${what}`);
  console.log(
    `Flops: ${humanCount(rows[0].flops)}FLOPs (multiply-accumulates of conv/linear layers)`,
  );
  console.log(`Params: ${humanCount(rows[0].params)} (${rows[0].params} parameters)`);
  x.dispose();
  model.dispose();
}

runCli(main);
