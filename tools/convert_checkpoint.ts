/**
 * Converts another library's weights into a tfdet checkpoint.
 *
 *   npx tsx tools/convert_checkpoint.ts resnet50-0676ba61.pth checkpoints/resnet50_tv.safetensors --from torchvision
 *   npx tsx tools/convert_checkpoint.ts IN OUT --from torchvision --config configs/x.ts --prefix backbone.
 *
 * IN is a `.pth` written by `torch.save` (zip or legacy format, read here
 * without Python; a file naming anything but tensors and plain containers
 * is refused) or a `.safetensors` file. OUT is a tfdet safetensors
 * checkpoint with its JSON sidecar. The report lists the keys mapped and
 * the keys skipped; with `--config` it builds that config's model and
 * lists what is unmatched either way (the model's keys no converted tensor
 * fills, converted tensors the model has no place for, shape mismatches),
 * under `--prefix` when the weights are for a part of it (a backbone).
 *
 * `--from torchvision` takes torchvision's detectors for the configs under
 * `configs/torchvision/` (`--model retinanet_resnet50_fpn`) and its
 * classification models (`--model resnet|vgg|mobilenet_v2|mobilenet_v3|densenet|googlenet`);
 * which one is told from the keys when `--model` is left out. See
 * docs/pretrained.md and docs/model_zoo.md.
 *
 * `--from mmdet` takes mmdetection's and mmsegmentation's checkpoints for
 * the configs that mirror them (`--model retinanet|faster_rcnn|mask_rcnn|fcos|ssd300|yolov3|fcn|deeplabv3`,
 * told from the keys when left out); its `{meta, state_dict}` wrapper is unwrapped.
 */
import { parseArgs } from 'node:util';
import {
  convertMmdet,
  convertTorchvision,
  MMDET_MODELS,
  TORCHVISION_MODELS,
  type MmdetModel,
} from '../src/converters/index.js';
import { loadConfig } from '../src/config/index.js';
import { reportError, runCli, UsageError } from '../src/engine/cli.js';
import { registerAllModules } from '../src/engine/register_all.js';
import { formatLoadReport, readWeights, saveCheckpoint, type Module } from '../src/nn/index.js';
import { MODELS } from '../src/registry.js';

const SOURCES = ['torchvision', 'mmdet'] as const;
const USAGE =
  `usage: tsx tools/convert_checkpoint.ts INPUT(.pth|.safetensors) OUTPUT.safetensors --from ${SOURCES.join('|')} ` +
  `[--model ${[...TORCHVISION_MODELS, ...MMDET_MODELS].join('|')}] [--config CONFIG [--prefix PREFIX]]`;

/** Runs the tool on `argv`; returns the exit status (errors are reported, not thrown). */
export async function main(argv: string[]): Promise<number> {
  try {
    return await convert(argv);
  } catch (e) {
    return reportError(e);
  }
}

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        model: { type: 'string' },
        config: { type: 'string' },
        prefix: { type: 'string' },
        'allow-imports': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message, USAGE);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (positionals.length !== 2)
    throw new UsageError(`expected INPUT and OUTPUT, got ${positionals.length} arguments`, USAGE);
  if (!SOURCES.includes(values.from as (typeof SOURCES)[number]))
    throw new UsageError(
      `--from: expected one of ${SOURCES.join(', ')}, got ${values.from === undefined ? 'nothing' : `'${values.from}'`}`,
      USAGE,
    );
  const model = values.model;
  const models: readonly string[] = values.from === 'mmdet' ? MMDET_MODELS : TORCHVISION_MODELS;
  if (model && !models.includes(model))
    throw new UsageError(
      `--model: expected one of ${models.join(', ')} for --from ${values.from}, got '${model}'`,
      USAGE,
    );
  if (values.prefix !== undefined && !values.config)
    throw new UsageError(
      '--prefix: only with --config (it places the weights in that model)',
      USAGE,
    );
  return { input: positionals[0], output: positionals[1], model, from: values.from!, values };
}

async function convert(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (!args) {
    console.log(USAGE);
    return 0;
  }
  const { input, output, values } = args;
  // The target model is built before anything is written, so a bad config loses nothing.
  let target: Module | undefined;
  if (values.config) {
    await registerAllModules();
    const cfg = await loadConfig(values.config, { allowImports: values['allow-imports'] ?? false });
    target = MODELS.build<Module>(cfg.model, { path: 'model' });
  }
  const { tensors, format } = readWeights(input);
  try {
    const r =
      args.from === 'mmdet'
        ? convertMmdet(tensors, args.model as MmdetModel | undefined, { disposeSource: true })
        : convertTorchvision(tensors, args.model, { disposeSource: true });
    try {
      if (target) {
        const prefix = values.prefix ? values.prefix.replace(/\.$/, '') : undefined;
        const lr = target.loadStateDict(r.state, { strict: false, prefix });
        console.log(
          `${values.config}${prefix ? ` (prefix '${prefix}.')` : ''}: ${formatLoadReport(lr)}`,
        );
      }
      saveCheckpoint(output, {
        state: r.state,
        meta: { source: args.from, model: r.model, convertedFrom: input },
      });
    } finally {
      for (const t of r.state.values()) t.dispose();
    }
    console.log(
      `${input} (${format}, ${args.from} ${r.model}) -> ${output}: ${r.state.size} tensors mapped` +
        `${r.skipped.length ? `; skipped ${r.skipped.join(', ')}` : '; none skipped'}` +
        `${target ? '' : '; unmatched: not checked (pass --config to check against a model)'}`,
    );
    return 0;
  } finally {
    for (const t of tensors.values()) t.dispose();
    target?.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { setBackend } = await import('../src/backend/index.js');
    await setBackend('cpu');
    return main(process.argv.slice(2));
  });
}
