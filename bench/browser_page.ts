/**
 * What bench/browser.ts and bench/browser_map.ts share: finding a work dir's
 * resolved config and checkpoint, training a shapes config briefly with
 * tools/train.ts, the bundle served with a page that exposes the bench's
 * page functions, and running a tool in a child Node.
 *
 * The page code is plain JavaScript in the page's module script (not
 * functions handed to `page.evaluate`: tsx's keepNames helpers would break
 * those), called with `page.evaluate('window.benchX(<json>)')`.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { buildBrowser } from '../scripts/build_browser.js';
import {
  launchChromium,
  recordedPage,
  serveStatic,
  type StaticServer,
} from '../test/browser/page_server.js';

const exec = promisify(execFile);

/** Runs `tools/<name>.ts` in a child Node; returns stdout, throws with both outputs on failure. */
export async function runTool(name: string, args: string[]): Promise<string> {
  try {
    const r = await exec(process.execPath, ['--import', 'tsx', `tools/${name}.ts`, ...args], {
      maxBuffer: 1 << 26,
    });
    return r.stdout;
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    throw new Error(`tools/${name}.ts exited with ${x.code}:\n${x.stdout}\n${x.stderr}`, {
      cause: e,
    });
  }
}

/** A work dir's resolved config (`<name>.json` with a `model` key) and its latest checkpoint. */
export function workDirFiles(dir: string): { config: string; checkpoint: string } {
  if (!fs.existsSync(dir)) throw new Error(`work dir not found: ${dir}`);
  const configs = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(dir, f))
    .filter((f) => {
      try {
        const j = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
        return typeof j.model === 'object' && j._base_ === undefined;
      } catch {
        return false;
      }
    });
  if (configs.length !== 1)
    throw new Error(
      `${dir}: expected one resolved config (<name>.json with a model key), found ${configs.length}`,
    );
  const last = path.join(dir, 'last_checkpoint');
  let checkpoint: string | undefined;
  if (fs.existsSync(last)) {
    const p = fs.readFileSync(last, 'utf8').trim();
    checkpoint = path.isAbsolute(p) ? p : path.join(dir, path.basename(p));
  } else {
    const cks = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.safetensors'))
      .map((f) => path.join(dir, f))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    checkpoint = cks[0];
  }
  if (!checkpoint || !fs.existsSync(checkpoint))
    throw new Error(`${dir}: no checkpoint (last_checkpoint or *.safetensors)`);
  return { config: configs[0], checkpoint };
}

/** `--cfg-options` for a shapes config trained on `data` for `epochs` epochs, no validation. */
export function trainOptions(data: string, epochs: number): string[] {
  return [
    '--cfg-options',
    ...['train', 'val', 'test'].map((s) => `${s}Dataloader.dataset.dataRoot=${data}/`),
    `trainCfg.maxEpochs=${epochs}`,
    `trainCfg.valInterval=${epochs + 1}`,
    'trainDataloader.batchSize=4',
    'trainDataloader.numWorkers=0',
    ...['val', 'test'].map((e) => `${e}Evaluator.annFile=${data}/annotations/instances_val.json`),
  ];
}

/** Trains `config` on `data` with tools/train.ts (wasm) into `workDir`; returns its files. */
export async function trainBriefly(
  config: string,
  workDir: string,
  data: string,
  epochs: number,
): Promise<{ config: string; checkpoint: string }> {
  await runTool('train', [
    config,
    '--work-dir',
    workDir,
    '--backend',
    'wasm',
    ...trainOptions(data, epochs),
  ]);
  return workDirFiles(workDir);
}

/** The page's module script: the bundle as `window.tfdet`, and the bench's page functions. */
const PAGE_SCRIPT = String.raw`
import * as tfdet from '/dist/tfdet.js';
window.tfdet = tfdet;
const loadImage = async (url) => {
  const img = new Image();
  img.src = url;
  await img.decode();
  return img;
};
const errorText = (e) => String(e && e.stack ? e.stack : e);
// latency of detect() on one image: warm-up runs, then timed runs
window.benchLatency = async (job) => {
  try {
    const t0 = performance.now();
    await tfdet.setBackend(job.backend);
    const det = await tfdet.loadDetector({ config: job.config, checkpoint: job.checkpoint });
    const loadMs = performance.now() - t0;
    const img = await loadImage(job.image);
    const runs = [];
    for (let i = 0; i < job.warmup + job.runs; i++) {
      const a = performance.now();
      const r = await det.detect(img, { scoreThr: job.scoreThr });
      const wall = performance.now() - a;
      if (i >= job.warmup) runs.push({ wall, ...r.times, reads: r.reads, n: r.detections.length });
    }
    det.dispose();
    return { backend: tfdet.tf.getBackend(), loadMs, runs };
  } catch (e) {
    return { error: errorText(e) };
  }
};
// detections of every image (boxes in original pixels)
window.benchDetect = async (job) => {
  try {
    await tfdet.setBackend(job.backend);
    const det = await tfdet.loadDetector({ config: job.config, checkpoint: job.checkpoint });
    const t0 = performance.now();
    const out = [];
    for (const im of job.images) {
      const img = await loadImage(im.url);
      const r = await det.detect(img, { scoreThr: job.scoreThr });
      out.push({
        id: im.id,
        width: r.width,
        height: r.height,
        dets: r.detections.map((d) => [...d.bbox, d.score, d.label]),
      });
    }
    const ms = performance.now() - t0;
    det.dispose();
    return { backend: tfdet.tf.getBackend(), ms, images: out };
  } catch (e) {
    return { error: errorText(e) };
  }
};
window.benchReady = true;
`;

const HTML = `<!doctype html><html><body><script type="module">${PAGE_SCRIPT}</script></body></html>`;

/** The bundle built into `dir/dist`, served with the bench page and `files` (URL prefix -> folder). */
export interface BenchPage {
  origin: string;
  browser: Browser;
  /** A fresh page with the bundle loaded (one per backend: nothing carries over). */
  open(): Promise<{ page: Page; logs: string[] }>;
  close(): Promise<void>;
}

export async function startBenchPage(
  dir: string,
  files: Record<string, string>,
): Promise<BenchPage> {
  await buildBrowser(path.join(dir, 'dist'));
  const srv: StaticServer = await serveStatic(
    { '/dist/': path.join(dir, 'dist'), ...files },
    { '/': HTML },
  );
  const browser = await launchChromium();
  return {
    origin: srv.origin,
    browser,
    async open() {
      const { page, logs } = await recordedPage(browser);
      await page.goto(`${srv.origin}/`);
      await page.waitForFunction('window.benchReady === true', undefined, { timeout: 60_000 });
      return { page, logs };
    },
    async close() {
      await browser.close();
      await srv.close();
    },
  };
}

/** Calls `window[fn](job)` in the page (a string of JavaScript, see the header). */
export async function callPage<T>(page: Page, fn: string, job: unknown): Promise<T> {
  const r: unknown = await page.evaluate(`window.${fn}(${JSON.stringify(job)})`);
  return r as T;
}

/** `q`-quantile (0..1) with linear interpolation (numpy's default). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
