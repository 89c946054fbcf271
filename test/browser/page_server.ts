/**
 * The static server and Chromium launch the page tests share: files from a
 * few roots on 127.0.0.1, every request recorded (so a test can check that
 * nothing left localhost), and Debian's Chromium with WebGPU and WebGL on
 * SwiftShader.
 */
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumAvailable = fs.existsSync(CHROMIUM);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

export interface StaticServer {
  server: Server;
  origin: string;
  close(): Promise<void>;
}

/** Serves `routes` (URL prefix -> folder) and `pages` (path -> HTML) on a free port. */
export async function serveStatic(
  routes: Record<string, string>,
  pages: Record<string, string> = {},
): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (pages[url] !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(pages[url]);
      return;
    }
    for (const [prefix, dir] of Object.entries(routes)) {
      if (!url.startsWith(prefix)) continue;
      const file = path.join(dir, url.slice(prefix.length));
      if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) break;
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      });
      res.end(fs.readFileSync(file));
      return;
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A page whose console, errors and requests are recorded. */
export async function recordedPage(
  browser: Browser,
): Promise<{ page: Page; logs: string[]; requests: string[] }> {
  const page = await browser.newPage();
  const logs: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  return { page, logs, requests };
}
