/**
 * Serves the browser demo page (`web/`) on 127.0.0.1: the page at `/`, the
 * browser bundle at `/dist/` (rebuilt first when `dist/browser/tfdet.js` is
 * missing or older than a file under `src/`), a training's work dir at
 * `/work/`, and `GET /api/model`, which names the work dir's resolved config
 * and its latest checkpoint for the page to load.
 *
 *   npx tsx tools/serve_web.ts [--work-dir work_dirs/demo] [--port 8080] [--host 127.0.0.1]
 *
 * Only files under those three folders are served: a path that leaves its
 * folder (`..`, or a symlink pointing out of it) and dotfiles are 404s.
 * Responses carry `Cache-Control: no-cache` with an ETag, so a page reload
 * after a new training or a rebuilt bundle gets the new files (and a 304 for
 * the unchanged ones, the 45 MB checkpoint included).
 */
import * as fs from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBrowser } from '../scripts/build_browser.js';
import { runCli, UsageError } from '../src/engine/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const HELP = `usage: tools/serve_web.ts [--work-dir DIR] [--port N] [--host HOST] [--no-build]

  Serves the browser demo (web/) with the bundle (dist/browser) and a work
  dir's model, and prints the page's URL. The bundle is rebuilt first when it
  is missing or older than src/. The page loads the work dir's resolved config
  (<name>.json) and the checkpoint last_checkpoint names (else the newest
  epoch_*.safetensors); it can also load a config and checkpoint picked by hand.

  --work-dir DIR   the training to serve at /work/ (default work_dirs/demo, what \`npm run demo\` writes)
  --port N         port (default 8080; 0 picks a free one)
  --host HOST      address to listen on (default 127.0.0.1; the webcam needs
                   localhost or https, so another machine gets no camera)
  --no-build       serve dist/browser as it is
`;

/** Content types by extension; anything else is application/octet-stream. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
};

/** What `/api/model` answers: URLs the page fetches, and the folder they come from. */
export interface ModelInfo {
  config: string;
  checkpoint: string;
  workDir: string;
}

/** True when `file` is `dir` or lies under it (both absolute and normalised). */
function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** `a/b c.json` as a URL path under `/work/`. */
const workUrl = (rel: string): string =>
  `/work/${rel.split(path.sep).map(encodeURIComponent).join('/')}`;

/**
 * The resolved config of a work dir: a top-level `*.json` holding an object
 * with a `model` key. Checkpoint sidecars (`*.safetensors.json`) and other
 * JSON a run leaves there (`demo_summary.json`; the scalars are in
 * `<timestamp>/vis_data/`) are not configs. The newest wins.
 */
function findConfig(dir: string): string | undefined {
  const found: { name: string; mtime: number }[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.json') || name.endsWith('.safetensors.json') || name.startsWith('.'))
      continue;
    const file = path.join(dir, name);
    try {
      const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (cfg && typeof cfg === 'object' && 'model' in cfg)
        found.push({ name, mtime: fs.statSync(file).mtimeMs });
    } catch {
      // not JSON, or unreadable: not a config
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime)[0]?.name;
}

/**
 * The checkpoint to serve, relative to the work dir: the one `last_checkpoint`
 * names (it holds the path the training wrote, usually absolute) when it
 * exists inside the work dir, else the newest `epoch_*` / `iter_*.safetensors`.
 */
function findCheckpoint(dir: string): string | undefined {
  const ptr = path.join(dir, 'last_checkpoint');
  if (fs.existsSync(ptr)) {
    const named = path.resolve(dir, fs.readFileSync(ptr, 'utf8').trim());
    if (isInside(named, dir) && fs.existsSync(named) && fs.statSync(named).isFile())
      return path.relative(dir, named);
  }
  const ckpts = fs
    .readdirSync(dir)
    .filter((n) => /^(epoch|iter)_\d+\.safetensors$/.test(n))
    .map((name) => ({ name, mtime: fs.statSync(path.join(dir, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  return ckpts[0]?.name;
}

/**
 * The model `/api/model` names for `workDir`.
 *
 * @throws Error naming what is missing and what to run
 */
export function findModel(workDir: string): ModelInfo {
  const dir = path.resolve(workDir);
  const hint = 'run `npm run demo` first or pass --work-dir';
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new Error(`work dir ${dir} does not exist; ${hint}`);
  const checkpoint = findCheckpoint(dir);
  if (!checkpoint) throw new Error(`work dir ${dir} has no checkpoint (*.safetensors); ${hint}`);
  const config = findConfig(dir);
  if (!config)
    throw new Error(
      `work dir ${dir} has no resolved config (<name>.json with a \`model\`); ${hint}`,
    );
  return { config: workUrl(config), checkpoint: workUrl(checkpoint), workDir: dir };
}

/** The newest modification time of the files under `dir` (recursively). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * Builds `distDir/tfdet.js` when it or a `.wasm` file is missing, or when a
 * file under `src/` (or the build script) is newer than it. Returns whether
 * it built.
 */
export async function ensureBundle(distDir = path.join(ROOT, 'dist/browser')): Promise<boolean> {
  const js = path.join(distDir, 'tfdet.js');
  const wasm = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];
  const fresh =
    fs.existsSync(js) &&
    wasm.every((w) => fs.existsSync(path.join(distDir, w))) &&
    fs.statSync(js).mtimeMs >=
      Math.max(
        newestMtime(path.join(ROOT, 'src')),
        fs.statSync(path.join(ROOT, 'scripts/build_browser.ts')).mtimeMs,
      );
  if (fresh) return false;
  await buildBrowser(distDir);
  return true;
}

/** Options of {@link createWebServer}. */
export interface WebServerOptions {
  /** The work dir served at `/work/` (default `work_dirs/demo`). */
  workDir?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The page (default `web/`). */
  webDir?: string;
  /** The bundle's folder (default `dist/browser`). */
  distDir?: string;
}

/** A listening demo server. */
export interface WebServer {
  server: Server;
  /** `http://host:port` */
  origin: string;
  /** The work dir served, absolute; assign to serve another. */
  workDir: string;
  close(): Promise<void>;
}

/**
 * The file under `root` that URL path `rel` (already decoded, without the
 * route prefix) names, or undefined when there is none or it would leave
 * `root`: `..` segments, dotfiles and symlinks resolving outside are refused.
 */
function resolveUnder(root: string, rel: string): string | undefined {
  if (rel.includes('\0')) return undefined;
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.some((p) => p.startsWith('.') || p.includes('\\'))) return undefined;
  const base = path.resolve(root);
  let file = path.resolve(base, ...parts);
  if (!isInside(file, base)) return undefined;
  try {
    let real = fs.realpathSync(file);
    if (!isInside(real, fs.realpathSync(base))) return undefined;
    if (fs.statSync(real).isDirectory()) {
      file = path.join(file, 'index.html');
      real = fs.realpathSync(file);
      if (!isInside(real, fs.realpathSync(base))) return undefined;
    }
    return fs.statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': TYPES['.json'],
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

/** Sends `file` with its type, revalidated on every use (ETag from size and mtime). */
function sendFile(req: IncomingMessage, res: ServerResponse, file: string): void {
  const st = fs.statSync(file);
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers = {
    'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': st.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  fs.createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** Starts the demo server; the work dir is checked per `/api/model` request, not here. */
export async function createWebServer(opts: WebServerOptions = {}): Promise<WebServer> {
  const webDir = path.resolve(opts.webDir ?? path.join(ROOT, 'web'));
  const distDir = path.resolve(opts.distDir ?? path.join(ROOT, 'dist/browser'));
  const srv: WebServer = {
    server: undefined as unknown as Server,
    origin: '',
    workDir: path.resolve(opts.workDir ?? 'work_dirs/demo'),
    close: () =>
      new Promise<void>((ok) => {
        srv.server.close(() => ok());
        // a browser keeps its connections open; they would hold close() up
        srv.server.closeAllConnections();
      }),
  };
  const routes = (): [string, string][] => [
    ['/dist/', distDir],
    ['/work/', srv.workDir],
    ['/', webDir],
  ];
  srv.server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    let url: string;
    try {
      url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400);
      res.end('bad URL');
      return;
    }
    if (url === '/api/model') {
      try {
        sendJson(res, 200, findModel(srv.workDir));
      } catch (e) {
        sendJson(res, 404, { error: (e as Error).message });
      }
      return;
    }
    for (const [prefix, dir] of routes()) {
      if (!url.startsWith(prefix)) continue;
      const file = resolveUnder(dir, url.slice(prefix.length));
      if (file) return sendFile(req, res, file);
      break;
    }
    res.writeHead(404, { 'content-type': TYPES['.txt'] });
    res.end('not found');
  });
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  await new Promise<void>((ok, fail) => {
    srv.server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is in use; pass --port (0 picks a free one)`)
          : e,
      ),
    );
    srv.server.listen(port, host, ok);
  });
  const addr = srv.server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  srv.origin = `http://${shown}:${addr.port}`;
  return srv;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'work-dir': { type: 'string', default: 'work_dirs/demo' },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(
      `--port: expected an integer in [0, 65535], got ${JSON.stringify(values.port)}`,
      HELP,
    );
  // Fails before anything is built or bound when there is no model to serve.
  const model = findModel(values['work-dir']);
  if (!values['no-build']) {
    const t0 = performance.now();
    if (await ensureBundle())
      console.log(
        `built dist/browser/tfdet.js (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
  }
  const srv = await createWebServer({ workDir: model.workDir, port, host: values.host });
  console.log(`model: ${model.config} with ${model.checkpoint} (from ${model.workDir})`);
  console.log(`serving the demo at ${srv.origin}/  (Ctrl-C stops)`);
  await new Promise<void>((ok) => {
    process.once('SIGINT', () => void srv.close().then(ok));
    process.once('SIGTERM', () => void srv.close().then(ok));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]))
  runCli(main);
