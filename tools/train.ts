/**
 * Train a model from a config.
 *
 *   npx tsx tools/train.ts CONFIG [--work-dir DIR] [--resume [CKPT]] [--overwrite] [--load-from CKPT]
 *                          [--cfg-options key=value ...] [--backend NAME] [--seed N]
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { preprocessArgv, runCli } from '../src/engine/cli.js';
import { parseNproc } from '../src/engine/dist/procs.js';
import type { TrainJob } from '../src/engine/train_job.js';
import { resolveWorkDir } from '../src/engine/work_dir.js';
import { acquireDirLock } from '../src/utils/lock.js';

const HELP = `usage: tools/train.ts CONFIG [options]

Train a detector from a config file (TS/JS/JSON).

options:
  --work-dir DIR            where checkpoints and logs go (default work_dirs/<config name>)
  --resume [CKPT]           resume from CKPT, or from <work dir>/last_checkpoint without one:
                            weights, optimizer moments, schedule, epoch/iteration, RNG and data order
  --overwrite               train in a work dir holding an earlier run's checkpoints without
                            resuming it (they are replaced); without it such a work dir is an error
  --load-from CKPT          initialise the weights from CKPT, a tfdet checkpoint or a torchvision .pth
                            (fine-tuning; mismatched layers, e.g. another numClasses, are reported and skipped)
  --cfg-options K=V [K=V...] override config keys (e.g. trainCfg.maxEpochs=2 optimWrapper.optimizer.lr=0.01)
  --backend NAME            auto | tensorflow | webgpu | wasm | cpu (default: the config's backend, else auto)
  --seed N                  random seed (overrides randomness.seed)
  --deterministic           set randomness.deterministic
  --auto-scale-lr           scale the lr by batch size / autoScaleLr.baseBatchSize (default 16)
  --allow-imports           let a JSON config or an override import the modules in its customImports
  --nproc N|auto            data-parallel training on N worker threads (auto: the cores available);
                            batchSize is per worker, gradients are averaged, rank 0 validates and saves
  -h, --help                show this help
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: preprocessArgv(process.argv.slice(2), ['resume']),
    allowPositionals: true,
    options: {
      'work-dir': { type: 'string' },
      resume: { type: 'string' },
      'load-from': { type: 'string' },
      overwrite: { type: 'boolean' },
      'cfg-options': { type: 'string', multiple: true },
      backend: { type: 'string' },
      seed: { type: 'string' },
      deterministic: { type: 'boolean' },
      'auto-scale-lr': { type: 'boolean' },
      'allow-imports': { type: 'boolean' },
      nproc: { type: 'string' },
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
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed))
    throw new Error(`--seed: expected an integer, got ${JSON.stringify(values.seed)}`);
  if (values.resume && !fs.existsSync(values.resume))
    throw new Error(`--resume: checkpoint not found: ${values.resume}`);
  if (values['load-from'] && !fs.existsSync(values['load-from']))
    throw new Error(`--load-from: checkpoint not found: ${values['load-from']}`);
  const nproc = parseNproc(values.nproc);
  const job: TrainJob = {
    configFile: file,
    cfgOptions: values['cfg-options'] ?? [],
    allowImports: values['allow-imports'] ?? false,
    workDir: values['work-dir'],
    seed,
    deterministic: values.deterministic,
    autoScaleLr: values['auto-scale-lr'],
    resume: values.resume === undefined ? undefined : values.resume || true,
    loadFrom: values['load-from'],
    backend: values.backend,
    overwrite: values.overwrite ?? false,
  };
  // The work dir is locked before anything slow (with --work-dir, before the config is even
  // read): a second run on it fails at once.
  let workDirLock = job.workDir
    ? acquireDirLock(resolveWorkDir(undefined, file, job.workDir))
    : undefined;
  // The engine is imported only now: a run that fails on its work dir's lock exits before that.
  let result;
  if (nproc === 1) {
    const { runTrainJob } = await import('../src/engine/train_job.js');
    result = await runTrainJob(job, { workDirLock });
  } else {
    if (!workDirLock) {
      // Every worker must use the same work dir: resolve it (the config's, else the default) here.
      const [{ loadConfig }, { registerAllModules }] = await Promise.all([
        import('../src/config/index.js'),
        import('../src/engine/register_all.js'),
      ]);
      await registerAllModules();
      const cfg = await loadConfig(file, {
        cfgOptions: job.cfgOptions,
        allowImports: job.allowImports,
      });
      job.workDir = resolveWorkDir(cfg.workDir, file);
      workDirLock = acquireDirLock(job.workDir);
    }
    job.workDir = workDirLock.dir;
    const { trainDataParallel } = await import('../src/engine/dist/launch.js');
    console.log(`data-parallel training: ${nproc} workers`);
    try {
      result = await trainDataParallel(job, nproc, workDirLock);
    } finally {
      workDirLock.release();
    }
  }
  console.log(
    `done: ${result.iter} iterations, ${result.epoch} epochs; checkpoints and logs in ${result.workDir}`,
  );
}

runCli(main);
