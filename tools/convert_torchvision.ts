/**
 * Converts torchvision weights (a safetensors file of a torchvision state
 * dict) into a tfdet checkpoint.
 *
 *   npx tsx tools/convert_torchvision.ts resnet50.safetensors work_dirs/resnet50_tfdet.safetensors [--family resnet]
 *
 * The output holds `backbone.*` and `head.*` tensors (an ImageClassifier);
 * a detector loads the backbone with
 * `init: {type: 'Pretrained', checkpoint: 'work_dirs/resnet50_tfdet.safetensors', prefix: 'backbone.'}`.
 * See docs/pretrained.md for exporting torchvision weights.
 */
import { parseArgs } from 'node:util';
import {
  convertTorchvisionFile,
  TORCHVISION_FAMILIES,
  type TorchvisionFamily,
} from '../src/backbones/convert_torchvision.js';
import { reportError, runCli, UsageError } from '../src/engine/cli.js';

const USAGE = `usage: tsx tools/convert_torchvision.ts INPUT.safetensors OUTPUT.safetensors [--family ${TORCHVISION_FAMILIES.join('|')}]`;

/** Runs the tool on `argv`; returns the exit status (errors are reported, not thrown). */
export function main(argv: string[]): number {
  try {
    return convert(argv);
  } catch (e) {
    return reportError(e);
  }
}

function convert(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { family: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message, USAGE);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [input, output] = parsed.positionals;
  if (!input || !output || parsed.positionals.length > 2)
    throw new UsageError(
      `expected INPUT and OUTPUT, got ${parsed.positionals.length} arguments`,
      USAGE,
    );
  const family = parsed.values.family as TorchvisionFamily | undefined;
  if (family && !TORCHVISION_FAMILIES.includes(family))
    throw new UsageError(
      `--family: expected one of ${TORCHVISION_FAMILIES.join(', ')}, got '${family}'`,
      USAGE,
    );
  const r = convertTorchvisionFile(input, output, family);
  console.log(
    `${input} (${r.family}) -> ${output}: ${r.tensors} tensors${r.skipped.length ? `; skipped ${r.skipped.join(', ')}` : ''}`,
  );
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { setBackend } = await import('../src/backend/index.js');
    await setBackend('cpu');
    return main(process.argv.slice(2));
  });
}
