/**
 * Builds the browser bundle: `dist/browser/tfdet.js`, one ES module with
 * tfjs-core and its cpu, webgl, webgpu and wasm backends, every model
 * component and the page API (src/browser), the fine-tuning worker
 * `finetune_worker.js` (which imports tfdet.js), and the wasm backend's
 * three `.wasm` files beside them. Node built-ins are refused by the bundler
 * (platform 'browser'); `src/utils/fs.ts` is replaced by `fs.browser.ts`.
 *
 *   npx tsx scripts/build_browser.ts [--out-dir dist/browser] [--no-minify]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { ensureDir, writeFileAtomic } from '../src/utils/fs.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];

/** Puts `X.browser.ts` in the place of `X.ts` where the first exists. */
const browserFiles: Plugin = {
  name: 'browser-files',
  setup(b) {
    b.onLoad({ filter: /[/\\]src[/\\].*\.ts$/ }, (args) => {
      const alt = args.path.replace(/\.ts$/, '.browser.ts');
      if (!fs.existsSync(alt)) return undefined;
      return {
        contents: fs.readFileSync(alt, 'utf8'),
        loader: 'ts',
        resolveDir: path.dirname(alt),
      };
    });
  },
};

/** The worker's imports of the library's modules become imports of `./tfdet.js`. */
const libraryFromBundle: Plugin = {
  name: 'library-from-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\/(backend|finetune|detector)\.js$/ }, (args) =>
      args.importer.endsWith('finetune_worker.ts')
        ? { path: './tfdet.js', external: true }
        : undefined,
    );
  },
};

/** What a build wrote. */
export interface BrowserBuild {
  file: string;
  bytes: number;
  gzipBytes: number;
  wasmFiles: string[];
  /** The source files bundled (relative to the project). */
  inputs: string[];
}

/** Bundles src/browser/index.ts into `outDir`. */
export async function buildBrowser(
  outDir = path.join(ROOT, 'dist/browser'),
  minify = true,
): Promise<BrowserBuild> {
  const common = {
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    logLevel: 'silent',
  } as const;
  const res = await build({
    ...common,
    entryPoints: [path.join(ROOT, 'src/browser/index.ts')],
    legalComments: 'eof',
    plugins: [browserFiles],
    metafile: true,
  });
  const js = res.outputFiles[0].contents;
  // The worker imports the library from tfdet.js beside it, not a second copy.
  const worker = await build({
    ...common,
    entryPoints: [path.join(ROOT, 'src/browser/finetune_worker.ts')],
    plugins: [libraryFromBundle],
  });
  ensureDir(outDir);
  const file = path.join(outDir, 'tfdet.js');
  writeFileAtomic(file, js);
  writeFileAtomic(path.join(outDir, 'finetune_worker.js'), worker.outputFiles[0].contents);
  const wasmDir = path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const wasmFiles = WASM_FILES.map((f) => {
    writeFileAtomic(path.join(outDir, f), fs.readFileSync(path.join(wasmDir, f)));
    return f;
  });
  return {
    file,
    bytes: js.length,
    gzipBytes: gzipSync(js).length,
    wasmFiles,
    inputs: Object.keys(res.metafile.inputs),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'out-dir': { type: 'string' }, 'no-minify': { type: 'boolean' } },
  });
  const out = await buildBrowser(
    values['out-dir'] ? path.resolve(values['out-dir']) : undefined,
    !values['no-minify'],
  );
  const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
  console.log(
    `wrote ${path.relative(process.cwd(), out.file)} (${mb(out.bytes)}, ${mb(out.gzipBytes)} gzip) and ${out.wasmFiles.join(', ')}`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
