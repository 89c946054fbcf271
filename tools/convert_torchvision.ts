/**
 * The earlier name of `tools/convert_checkpoint.ts --from torchvision`
 * (`--family` is its `--model`):
 *
 *   npx tsx tools/convert_torchvision.ts resnet50.pth checkpoints/resnet50_tv.safetensors [--family resnet]
 */
import { main as convertCheckpoint } from './convert_checkpoint.js';
import { runCli } from '../src/engine/cli.js';

/** Runs `tools/convert_checkpoint.ts --from torchvision` on `argv`; returns the exit status. */
export function main(argv: string[]): Promise<number> {
  return convertCheckpoint([
    '--from',
    'torchvision',
    ...argv.map((a) => (a === '--family' ? '--model' : a.replace(/^--family=/, '--model='))),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(async () => {
    const { setBackend } = await import('../src/backend/index.js');
    await setBackend('cpu');
    return main(process.argv.slice(2));
  });
}
