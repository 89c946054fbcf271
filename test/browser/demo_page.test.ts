/**
 * The browser demo (web/ served by tools/serve_web.ts): the server's
 * `/api/model`, content types and refusals (no Chromium needed), and in
 * headless Chromium on webgl the page loading the SSD and the Mask R-CNN of
 * the page fixture (models_setup.ts) from the server, detecting in
 * validation images uploaded through its file input, and drawing boxes,
 * labels and masks. Screenshots go to docs/images/browser_demo_boxes.png
 * and browser_demo_masks.png. The page tests are skipped, with the reason
 * printed, when /usr/bin/chromium is absent.
 */
import * as fs from 'node:fs';
import { request } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebServer, findModel, type WebServer } from '../../tools/serve_web.js';
import { setUpPageFixture, type PageFixture } from './models_setup.js';
import { chromiumAvailable, CHROMIUM, launchChromium, recordedPage } from './page_server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = path.join(ROOT, 'docs/images');

if (!chromiumAvailable)
  console.log(
    `test/browser/demo_page.test.ts: page tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).`,
  );

/** GET with the path sent as it is (fetch would normalise `..` away). */
function get(
  origin: string,
  rawPath: string,
): Promise<{ status: number; type?: string; cache?: string; body: string }> {
  const u = new URL(origin);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        ok({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'],
          cache: res.headers['cache-control'],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

describe('tools/serve_web.ts', () => {
  let tmp: string;
  let srv: WebServer;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfdet-serve-web-'));
    const work = path.join(tmp, 'work');
    const dist = path.join(tmp, 'dist');
    fs.mkdirSync(work);
    fs.mkdirSync(dist);
    fs.writeFileSync(path.join(dist, 'tfdet.js'), 'export const x = 1;\n');
    fs.writeFileSync(path.join(dist, 'tfjs-backend-wasm.wasm'), '\0asm');
    // what a training leaves: resolved config, checkpoint + sidecar, pointer, other JSON
    fs.writeFileSync(path.join(work, 'my cfg.json'), JSON.stringify({ model: { type: 'X' } }));
    fs.writeFileSync(path.join(work, 'demo_summary.json'), JSON.stringify({ map: 0.9 }));
    fs.writeFileSync(path.join(work, 'epoch_1.safetensors'), 'old');
    fs.writeFileSync(path.join(work, 'epoch_2.safetensors'), 'new');
    fs.writeFileSync(path.join(work, 'epoch_2.safetensors.json'), JSON.stringify({ model: 1 }));
    fs.writeFileSync(path.join(work, 'last_checkpoint'), path.join(work, 'epoch_1.safetensors'));
    fs.writeFileSync(path.join(tmp, 'secret.txt'), 'secret');
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(work, 'link.txt'));
    srv = await createWebServer({ workDir: work, distDir: dist, port: 0 });
  });

  afterAll(async () => {
    await srv?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('/api/model names the resolved config and the checkpoint last_checkpoint points at', async () => {
    const r = await get(srv.origin, '/api/model');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({
      config: '/work/my%20cfg.json',
      checkpoint: '/work/epoch_1.safetensors',
    });
    expect((await get(srv.origin, '/work/my%20cfg.json')).status).toBe(200);
  });

  it('without last_checkpoint, the newest epoch_*; without any, an error saying what to run', () => {
    const other = path.join(tmp, 'other');
    fs.mkdirSync(other);
    expect(() => findModel(other)).toThrow(
      /no checkpoint.*run `npm run demo` first or pass --work-dir/,
    );
    fs.writeFileSync(path.join(other, 'epoch_1.safetensors'), 'a');
    fs.writeFileSync(path.join(other, 'epoch_3.safetensors'), 'b');
    fs.utimesSync(path.join(other, 'epoch_1.safetensors'), new Date(1e12), new Date(1e12));
    expect(() => findModel(other)).toThrow(/no resolved config/);
    fs.writeFileSync(path.join(other, 'c.json'), JSON.stringify({ model: {} }));
    expect(findModel(other).checkpoint).toBe('/work/epoch_3.safetensors');
    expect(() => findModel(path.join(tmp, 'missing'))).toThrow(/does not exist/);
  });

  it('serves the page, the bundle and .wasm with their types, revalidated each time', async () => {
    const page = await get(srv.origin, '/');
    expect([page.status, page.type]).toEqual([200, 'text/html; charset=utf-8']);
    const js = await get(srv.origin, '/app.js');
    expect([js.status, js.type, js.cache]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      'no-cache',
    ]);
    expect((await get(srv.origin, '/dist/tfdet.js')).type).toBe('text/javascript; charset=utf-8');
    expect((await get(srv.origin, '/dist/tfjs-backend-wasm.wasm')).type).toBe('application/wasm');
    expect((await get(srv.origin, '/work/epoch_2.safetensors')).body).toBe('new');
  });

  it('refuses paths out of its folders, symlinks leading out, dotfiles', async () => {
    for (const p of [
      '/work/../secret.txt',
      '/work/..%2fsecret.txt',
      '/work/%2e%2e/secret.txt',
      '/dist/..%2f..%2fwork%2flast_checkpoint',
      '/..%2fpackage.json',
      '/work/link.txt',
      '/work/%00x',
      '/.git/config',
    ]) {
      const r = await get(srv.origin, p);
      expect([p, r.status]).toEqual([p, 404]);
      expect(r.body).not.toContain('secret');
    }
    const other = await get(srv.origin, '/nothing-here');
    expect(other.status).toBe(404);
  });
});

interface PageSummary {
  name: string;
  drawn: number;
  maskPixels: number;
  detections: { score: number; className: string; hasMask: boolean }[];
  times: Record<string, number>;
}

describe.skipIf(!chromiumAvailable)('the demo page in Chromium (webgl)', () => {
  let f: PageFixture;
  let srv: WebServer;
  let browser: Browser;

  beforeAll(async () => {
    f = await setUpPageFixture(2, ['ssd', 'mask_rcnn']);
    srv = await createWebServer({ distDir: path.join(f.dir, 'dist'), port: 0 });
    browser = await launchChromium();
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    if (f) fs.rmSync(f.dir, { recursive: true, force: true });
  });

  /** Opens the page on `model`'s work dir, uploads the validation images, waits, screenshots. */
  async function runPage(model: string, thr: number, top: number, shot: string) {
    const m = f.models.find((x) => x.name === model)!;
    srv.workDir = path.dirname(m.checkpoint);
    const { page, logs, requests } = await recordedPage(browser);
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${srv.origin}/?backend=webgl&thr=${thr}&top=${top}`);
    const state = () => document.body.dataset.state;
    await page.waitForFunction(
      () => ['ready', 'error'].includes(document.body.dataset.state ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    const status = () => page.locator('#status').textContent();
    expect(await page.evaluate(state), `${await status()}\n${logs.join('\n')}`).toBe('ready');
    // the real UI path: the file input
    await page.setInputFiles('#images', f.valImages);
    const n = f.valImages.length;
    await page.waitForFunction(
      (k) => {
        const s = document.body.dataset.state;
        const demo = (window as unknown as { demo: { results(): unknown[] } }).demo;
        return s === 'error' || (s === 'done' && demo.results().length === k);
      },
      n,
      { timeout: 60_000 },
    );
    expect(await page.evaluate(state), `${await status()}\n${logs.join('\n')}`).toBe('done');
    type Demo = {
      results(): PageSummary[];
      drawnPixels(): { changed: number; width: number; height: number }[];
    };
    const results = await page.evaluate(() => (window as unknown as { demo: Demo }).demo.results());
    const pixels = await page.evaluate(() =>
      (window as unknown as { demo: Demo }).demo.drawnPixels(),
    );
    await page.screenshot({ path: path.join(SHOTS, shot), fullPage: true });
    const text = await page.locator('#results').innerText();
    await page.close();
    console.log(
      `${model} (thr ${thr}): drawn per image ${JSON.stringify(results.map((r) => r.drawn))}, ` +
        `changed pixels ${JSON.stringify(pixels.map((p) => p.changed))}, ` +
        `times ${JSON.stringify(results.map((r) => r.times.total.toFixed(0)))} ms, status "${await status().catch(() => '')}"`,
    );
    expect(results.length).toBe(n);
    expect(results.reduce((s, r) => s + r.drawn, 0)).toBeGreaterThan(0);
    for (const r of results) expect(r.drawn).toBeLessThanOrEqual(top);
    for (const p of pixels) expect(p.changed).toBeGreaterThan(200);
    expect(text).toMatch(
      /preprocess [\d.]+ · network [\d.]+ · post-process [\d.]+ · total [\d.]+ ms/,
    );
    expect(requests.length).toBeGreaterThan(4);
    expect(requests.filter((u) => !u.startsWith(`${srv.origin}/`))).toEqual([]);
    return results;
  }

  it('SSD: boxes with class and score drawn (docs/images/browser_demo_boxes.png)', async () => {
    const results = await runPage('ssd', 0.3, 4, 'browser_demo_boxes.png');
    expect(results.every((r) => r.maskPixels === 0)).toBe(true);
  });

  it('Mask R-CNN: instance masks drawn (docs/images/browser_demo_masks.png)', async () => {
    const results = await runPage('mask_rcnn', 0.1, 10, 'browser_demo_masks.png');
    expect(results.some((r) => r.detections.some((d) => d.hasMask))).toBe(true);
    expect(results.reduce((s, r) => s + r.maskPixels, 0)).toBeGreaterThan(0);
  });
});
