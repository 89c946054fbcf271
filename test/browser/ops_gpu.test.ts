/**
 * WGSL (webgpu) and GLSL (webgl) kernels of src/ops in headless Chromium
 * (SwiftShader) against the typed-array kernels on 'cpu' in the same page.
 * Skipped, with the reason printed, when /usr/bin/chromium is absent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { CHROMIUM, chromiumAvailable, launchChromium } from './page_server.js';

const available = chromiumAvailable;
if (!available)
  console.log(
    `test/browser/ops_gpu.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`,
  );

type Results = Record<string, number[]>;

function maxAbsDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

describe.skipIf(!available)(
  'GPU kernels in headless Chromium agree with the typed-array kernels',
  () => {
    let browser: Browser;
    let server: Server;
    let results: Record<string, Results | string>;

    beforeAll(async () => {
      const bundle = await build({
        entryPoints: [fileURLToPath(new URL('./ops_gpu_entry.ts', import.meta.url))],
        bundle: true,
        write: false,
        format: 'esm',
        platform: 'browser',
        target: 'es2022',
        logLevel: 'silent',
      });
      const js = bundle.outputFiles[0].text;
      const html =
        '<!doctype html><html><body><script type="module" src="/bundle.js"></script></body></html>';
      server = createServer((req, res) => {
        const isJs = req.url === '/bundle.js';
        res.writeHead(200, { 'content-type': isJs ? 'text/javascript' : 'text/html' });
        res.end(isJs ? js : html);
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      const { port } = server.address() as AddressInfo;
      browser = await launchChromium();
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => typeof window.tfdetRun === 'function', undefined, {
        timeout: 30_000,
      });
      results = await page.evaluate(() => window.tfdetRun());
      const summary = Object.fromEntries(
        Object.entries(results).map(([k, v]) => [k, typeof v === 'string' ? v : 'ok']),
      );
      console.log(`browser backends: ${JSON.stringify(summary)}`);
      if (Object.values(results).some((v) => typeof v === 'string'))
        console.log(logs.slice(-20).join('\n'));
    }, 150_000);

    afterAll(async () => {
      await browser?.close();
      server?.close();
    });

    for (const backend of ['webgpu', 'webgl']) {
      it(`${backend}: boxIou, anchors, NMS mask, roiAlign and roiPool forward/backward within 1e-5 of cpu`, () => {
        const cpu = results.cpu;
        const gpu = results[backend];
        expect(typeof cpu, String(cpu)).toBe('object');
        expect(typeof gpu, `${backend} failed in the page: ${String(gpu)}`).toBe('object');
        const c = cpu as Results;
        const g = gpu as Results;
        const diffs: Record<string, number> = {};
        for (const k of Object.keys(c)) {
          if (k === 'nmsKeep' || k === 'nmsMask') continue;
          diffs[k] = maxAbsDiff(g[k], c[k]);
        }
        console.log(`${backend} max abs diff vs cpu: ${JSON.stringify(diffs)}`);
        for (const [k, d] of Object.entries(diffs)) expect(d, `${backend} ${k}`).toBeLessThan(1e-5);
        expect(g.nmsMask).toEqual(c.nmsMask);
        expect(g.nmsKeep).toEqual(c.nmsKeep);
        expect(c.nmsKeep.length).toBeGreaterThan(10);
        expect(Object.keys(diffs).filter((k) => k.startsWith('roiAlignGrad')).length).toBe(10);
      });
    }
  },
);
