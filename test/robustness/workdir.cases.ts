/**
 * The work dir of tools/train.ts: two runs at once, reruns, stale locks and
 * temp files, kill -9 during checkpoint writes, unusable directories (/proc,
 * a file, a read-only or full file system) and links already in the dir.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { loadCheckpoint } from '../../src/nn/index.js';
import { checkpointBytes, TOY_CONFIG } from '../engine/helpers.js';
import {
  expectUnchanged,
  runScript,
  runTool,
  snapshot,
  spawnTool,
  tmpDir,
  type RobustCase,
  type ToolResult,
} from './harness.js';

const train = (dir: string, ...extra: string[]) =>
  runTool('train', [TOY_CONFIG, '--work-dir', dir, ...extra]);

const expectOk = (r: ToolResult) => expect(r.code, `${r.out}\n${r.err}`).toBe(0);

let reference: Promise<string> | undefined;
/** One finished 3-epoch toy training (shared, never modified: cases copy it). */
function referenceRun(): Promise<string> {
  reference ??= (async () => {
    const dir = path.join(tmpDir('workdir-ref'), 'run');
    expectOk(await train(dir));
    return dir;
  })();
  return reference;
}

async function copyOfReference(tag: string): Promise<string> {
  const dir = path.join(tmpDir(tag), 'run');
  fs.cpSync(await referenceRun(), dir, { recursive: true });
  // last_checkpoint holds an absolute path (as mmengine's does): point it into the copy.
  const ptr = path.join(dir, 'last_checkpoint');
  fs.writeFileSync(ptr, path.join(dir, path.basename(fs.readFileSync(ptr, 'utf8').trim())));
  return dir;
}

/** A pid that no process has (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid;
}

const tempFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));

/** Mounts a tmpfs (this suite runs as root, as CI does) and returns its path and an unmount. */
function mountTmpfs(options: string): { dir: string; unmount: () => void } {
  const dir = tmpDir('mnt');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(
      `this case mounts a tmpfs and needs root (as .ci/run has): mount -t tmpfs -o ${options} failed: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return { dir, unmount: () => execFileSync('umount', ['-l', dir]) };
}

const cases: RobustCase[] = [
  {
    id: 'workdir.two-trainings-at-once',
    item: '1',
    what: 'a second tools/train.ts on a work dir a training is using',
    expect: 'clear-error',
    timeout: 180_000,
    async run() {
      const dir = path.join(tmpDir('workdir-two'), 'run');
      const first = spawnTool('train', [
        TOY_CONFIG,
        '--work-dir',
        dir,
        '--cfg-options',
        'trainCfg.maxEpochs=300',
        'trainCfg.valInterval=300',
        'defaultHooks.checkpoint.interval=100',
      ]);
      let firstOut = '';
      first.stdout.on('data', (d: Buffer) => (firstOut += d.toString()));
      first.stderr.on('data', (d: Buffer) => (firstOut += d.toString()));
      const firstDone = new Promise<number>((res) => first.on('exit', (c) => res(c ?? -1)));
      const lock = path.join(dir, '.lock');
      for (let i = 0; i < 600 && !fs.existsSync(lock); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(fs.existsSync(lock), `the first run never locked ${dir}:\n${firstOut}`).toBe(true);
      const t0 = Date.now();
      const second = await train(dir);
      const seconds = (Date.now() - t0) / 1000;
      const firstCode = await firstDone;
      expect(second.code).toBe(1);
      expect(second.err).toContain(
        `Error: work dir ${dir} is in use by another run: pid ${first.pid} on ${os.hostname()}, started `,
      );
      expect(second.err).toContain('wait for it to finish, or give this run another --work-dir');
      console.log(`the second run exited ${second.code} ${seconds.toFixed(2)} s after it started`);
      // A hang guard, not a timing target: the second run fails as soon as its command line is read.
      expect(seconds).toBeLessThan(20);
      expect(firstCode, firstOut).toBe(0);
      // The first run's files are its own: one log folder, its config, its 25 epochs, no lock left.
      const names = fs.readdirSync(dir).sort();
      expect(names.filter((n) => /^\d{8}_\d{6}$/.test(n))).toHaveLength(1);
      expect(names).toContain('epoch_300.safetensors');
      expect(names).not.toContain('.lock');
      expect(firstOut).toContain('done: 3000 iterations, 300 epochs');
      expect(second.out).not.toContain('Epoch(train)');
    },
  },
  {
    id: 'workdir.stale-lock-taken-over',
    item: '1',
    what: 'a lock left by a dead process (kill -9)',
    expect: 'correct-result',
    async run() {
      const dir = path.join(tmpDir('workdir-stale'), 'run');
      fs.mkdirSync(dir);
      const pid = deadPid();
      fs.writeFileSync(
        path.join(dir, '.lock'),
        JSON.stringify({
          pid,
          host: os.hostname(),
          started: '2026-01-01T00:00:00.000Z',
          command: 'x',
        }),
      );
      const r = await train(dir, '--cfg-options', 'trainCfg.maxEpochs=1');
      expectOk(r);
      expect(r.out).toContain(
        `work dir ${dir}: took over the lock of pid ${pid} (started 2026-01-01T00:00:00.000Z), which is no longer running`,
      );
      expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
    },
  },
  {
    id: 'workdir.empty-old-lock-taken-over',
    item: '1',
    what: 'an empty lock file (its writer died before writing the pid), a minute old',
    expect: 'correct-result',
    async run() {
      const dir = path.join(tmpDir('workdir-empty-lock'), 'run');
      fs.mkdirSync(dir);
      const lock = path.join(dir, '.lock');
      fs.writeFileSync(lock, '');
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, old, old);
      const r = await train(dir, '--cfg-options', 'trainCfg.maxEpochs=1');
      expectOk(r);
      expect(r.out).toContain(`work dir ${dir}: took over the lock of pid 0`);
    },
  },
  {
    id: 'workdir.lock-of-live-process',
    item: '1',
    what: 'a lock held by a live process of this machine',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('workdir-live'), 'run');
      fs.mkdirSync(dir);
      fs.writeFileSync(
        path.join(dir, '.lock'),
        JSON.stringify({
          pid: process.pid,
          host: os.hostname(),
          started: 'S',
          command: 'the test',
        }),
      );
      const before = snapshot(dir);
      const r = await train(dir);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: work dir ${dir} is in use by another run: pid ${process.pid} on ${os.hostname()}, started S (the test); wait for it to finish, or give this run another --work-dir`,
      );
      expectUnchanged(before, dir);
      expect(fs.readdirSync(dir)).toEqual(['.lock']);
    },
  },
  {
    id: 'workdir.rerun-without-resume',
    item: '1',
    what: 'tools/train.ts again in a work dir holding checkpoints, without --resume',
    expect: 'clear-error',
    async run() {
      const dir = await copyOfReference('workdir-rerun');
      const before = snapshot(dir);
      const r = await train(dir);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: work dir ${dir} already holds checkpoints of an earlier run (best_toy_score_epoch_3.safetensors, epoch_2.safetensors, epoch_3.safetensors, last_checkpoint): pass --resume to continue that run, --overwrite to start over in it (its checkpoints will be replaced), or another --work-dir`,
      );
      expectUnchanged(before, dir);
      expect(snapshot(dir).size).toBe(before.size);
    },
  },
  {
    id: 'workdir.rerun-with-overwrite',
    item: '1',
    what: 'the same rerun with --overwrite',
    expect: 'correct-result',
    async run() {
      const dir = await copyOfReference('workdir-overwrite');
      const r = await train(dir, '--overwrite', '--cfg-options', 'trainCfg.maxEpochs=1');
      expectOk(r);
      expect(r.out).toContain(
        `warning: work dir ${dir} holds checkpoints of an earlier run (best_toy_score_epoch_3.safetensors, epoch_2.safetensors, epoch_3.safetensors, last_checkpoint); starting over in it (overwrite): those of the same name are replaced as this run saves`,
      );
      expect(fs.readFileSync(path.join(dir, 'last_checkpoint'), 'utf8').trim()).toMatch(
        /epoch_1\.safetensors$/,
      );
    },
  },
  {
    id: 'workdir.rerun-with-resume',
    item: 'pass',
    what: 'the same rerun with --resume and one more epoch',
    expect: 'correct-result',
    async run() {
      const dir = await copyOfReference('workdir-resume');
      const r = await train(dir, '--resume', '--cfg-options', 'trainCfg.maxEpochs=4');
      expectOk(r);
      expect(r.out).toContain('done: 40 iterations, 4 epochs');
      expect(fs.existsSync(path.join(dir, 'epoch_4.safetensors'))).toBe(true);
    },
  },
  {
    id: 'workdir.lock-released-on-failure',
    item: '1',
    what: 'a training that fails after taking the lock',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('workdir-fail'), 'run');
      const r = await train(dir, '--cfg-options', 'model.type=NoSuchModel');
      expect(r.code).toBe(1);
      expect(r.err).toContain("'NoSuchModel' is not registered");
      expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
    },
  },
  {
    id: 'workdir.kill-9-during-checkpoint-write-x10',
    item: '8',
    what: 'kill -9 while a checkpoint is written, ten times, then a normal start',
    expect: 'correct-result',
    timeout: 400_000,
    async run() {
      const dir = path.join(tmpDir('workdir-kill'), 'run');
      const crash = (target: string, resume: boolean) =>
        runScript(
          'test/fixtures/engine/crash_in_checkpoint.ts',
          [TOY_CONFIG, '--work-dir', dir, ...(resume ? ['--resume'] : [])],
          { env: { TFDET_CRASH_RENAME: target } },
        );
      for (let i = 0; i < 10; i++) {
        const target = i % 2 ? 'epoch_2.safetensors.json' : 'epoch_2.safetensors';
        const r = await crash(target, i > 0);
        expect(r.code, `run ${i}: ${r.out}\n${r.err}`).toBe(-1);
        // The killed writer left its temp file and its lock behind.
        expect(tempFiles(dir).length, `run ${i}`).toBeGreaterThan(0);
        expect(fs.existsSync(path.join(dir, '.lock'))).toBe(true);
      }
      // The previous checkpoint is whole.
      const prev = loadCheckpoint(path.join(dir, 'epoch_1.safetensors'));
      expect(prev.meta.epoch).toBe(1);
      for (const t of [...prev.state.values(), ...prev.optimizerState.values()]) t.dispose();
      const r = await train(dir, '--resume');
      expectOk(r);
      expect(r.out).toMatch(
        /work dir .*: removed \d+ temp file\(s\) of interrupted writes: \.epoch_2/,
      );
      expect(tempFiles(dir)).toEqual([]);
      expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
      // Resume is bit-identical to a run that was never interrupted.
      const ref = checkpointBytes(path.join(await referenceRun(), 'epoch_3.safetensors'));
      const got = checkpointBytes(path.join(dir, 'epoch_3.safetensors'));
      expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
      for (const [k, v] of ref) expect(got.get(k)!.equals(v), k).toBe(true);
    },
  },
  {
    id: 'workdir.stale-temp-files-removed',
    item: '8',
    what: "temp files of a dead writer in the work dir (and one of a live writer's)",
    expect: 'correct-result',
    async run() {
      const dir = await copyOfReference('workdir-temps');
      const dead = `.epoch_3.safetensors.${deadPid()}.0123abcd.tmp`;
      const live = `.epoch_3.safetensors.${process.pid}.89abcdef.tmp`;
      fs.writeFileSync(path.join(dir, dead), 'partial');
      fs.writeFileSync(path.join(dir, live), 'being written');
      const r = await train(dir, '--resume', '--cfg-options', 'trainCfg.maxEpochs=3');
      expectOk(r);
      expect(r.out).toContain(
        `work dir ${dir}: removed 1 temp file(s) of interrupted writes: ${dead}`,
      );
      expect(tempFiles(dir)).toEqual([live]);
    },
  },
  {
    id: 'workdir.in-proc',
    item: '4',
    what: '--work-dir /proc/tfdet-work',
    expect: 'clear-error',
    async run() {
      const t0 = Date.now();
      const r = await train('/proc/tfdet-work');
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        'Error: cannot create directory /proc/tfdet-work: the file system at /proc does not allow new directories (ENOENT)',
      );
      expect(Date.now() - t0).toBeLessThan(20_000);
    },
  },
  {
    id: 'workdir.is-a-file',
    item: '4',
    what: '--work-dir naming a file',
    expect: 'clear-error',
    async run() {
      const file = path.join(tmpDir('workdir-file'), 'notes.txt');
      fs.writeFileSync(file, 'keep me');
      const r = await train(file);
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: cannot create directory ${file}: ${file} is not a directory`,
      );
      expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
    },
  },
  {
    id: 'workdir.parent-is-a-file',
    item: '4',
    what: '--work-dir below a file',
    expect: 'clear-error',
    async run() {
      const file = path.join(tmpDir('workdir-parent'), 'notes.txt');
      fs.writeFileSync(file, 'keep me');
      const r = await train(path.join(file, 'run'));
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        `Error: cannot create directory ${path.join(file, 'run')}: ${file} is not a directory`,
      );
    },
  },
  {
    id: 'workdir.read-only-mount',
    item: '12',
    what: '--work-dir on a read-only file system',
    expect: 'clear-error',
    async run() {
      const m = mountTmpfs('ro,size=1m');
      try {
        const r = await train(path.join(m.dir, 'run'));
        expect(r.code).toBe(1);
        expect(r.err.trim()).toBe(
          `Error: cannot create directory ${path.join(m.dir, 'run')}: the file system is read-only (EROFS)`,
        );
      } finally {
        m.unmount();
      }
    },
  },
  {
    id: 'workdir.disk-full',
    item: '4',
    what: 'the work dir fills up during training (ENOSPC)',
    expect: 'clear-error',
    async run() {
      const m = mountTmpfs('size=24k');
      try {
        const dir = path.join(m.dir, 'run');
        const r = await train(dir);
        expect(r.code).toBe(1);
        expect(r.err.trim()).toMatch(
          new RegExp(
            `^Error: cannot write ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S+: no space left on the device \\(ENOSPC\\)$`,
          ),
        );
        // The partial file of the failed write is gone; the lock too.
        expect(tempFiles(dir)).toEqual([]);
        expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
      } finally {
        m.unmount();
      }
    },
  },
  {
    id: 'workdir.link-at-resolved-config',
    item: '5',
    what: 'the resolved config path in the work dir is a link to a file elsewhere',
    expect: 'correct-result',
    async run() {
      const root = tmpDir('workdir-link');
      const target = path.join(root, 'precious.json');
      fs.writeFileSync(target, '{"keep": true}');
      const dir = path.join(root, 'run');
      fs.mkdirSync(dir);
      fs.symlinkSync(target, path.join(dir, 'toy_config.json'));
      expectOk(await train(dir, '--cfg-options', 'trainCfg.maxEpochs=1'));
      expect(fs.readFileSync(target, 'utf8')).toBe('{"keep": true}');
      expect(fs.lstatSync(path.join(dir, 'toy_config.json')).isSymbolicLink()).toBe(false);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'toy_config.json'), 'utf8')).workDir).toBe(
        dir,
      );
    },
  },
  {
    id: 'workdir.link-at-checkpoint',
    item: '5',
    what: 'a checkpoint path in the work dir is a link to a file elsewhere (rerun with --overwrite)',
    expect: 'correct-result',
    async run() {
      const root = tmpDir('workdir-link-ckpt');
      const target = path.join(root, 'other_model.safetensors');
      fs.writeFileSync(target, 'not to be touched');
      const dir = path.join(root, 'run');
      fs.mkdirSync(dir);
      fs.symlinkSync(target, path.join(dir, 'epoch_1.safetensors'));
      expectOk(await train(dir, '--overwrite', '--cfg-options', 'trainCfg.maxEpochs=1'));
      expect(fs.readFileSync(target, 'utf8')).toBe('not to be touched');
      expect(fs.lstatSync(path.join(dir, 'epoch_1.safetensors')).isSymbolicLink()).toBe(false);
    },
  },
  {
    id: 'workdir.failed-resume-keeps-config',
    item: '10',
    what: '--resume from a corrupt checkpoint',
    expect: 'clear-error',
    async run() {
      const dir = await copyOfReference('workdir-bad-resume');
      const ck = path.join(dir, 'epoch_3.safetensors');
      fs.writeFileSync(ck, fs.readFileSync(ck).subarray(0, 100));
      const before = snapshot(dir);
      const r = await train(dir, '--resume', '--cfg-options', 'trainCfg.maxEpochs=5');
      expect(r.code).toBe(1);
      expect(r.err).toContain(ck);
      // The resumed run's resolved config and checkpoints are as they were.
      expectUnchanged(before, dir);
    },
  },
  {
    id: 'workdir.resume-missing-checkpoint',
    item: 'pass',
    what: '--resume naming a checkpoint that does not exist',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('workdir-resume-missing'), 'run');
      const r = await train(dir, '--resume', '/nonexistent/epoch_9.safetensors');
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        'Error: --resume: checkpoint not found: /nonexistent/epoch_9.safetensors',
      );
      expect(fs.existsSync(dir)).toBe(false);
    },
  },
  {
    id: 'workdir.load-from-missing-checkpoint',
    item: 'pass',
    what: '--load-from naming a checkpoint that does not exist',
    expect: 'clear-error',
    async run() {
      const dir = path.join(tmpDir('workdir-load-missing'), 'run');
      const r = await train(dir, '--load-from', '/nonexistent/w.safetensors');
      expect(r.code).toBe(1);
      expect(r.err.trim()).toBe(
        'Error: --load-from: checkpoint not found: /nonexistent/w.safetensors',
      );
    },
  },
];

export default cases;
