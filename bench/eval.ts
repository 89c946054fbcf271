/**
 * COCO bbox evaluation benchmark: ours (evaluateCoco) beside pycocotools in
 * the same run, on a generated set of 5,000 images, ~36,000 ground-truth
 * boxes (80 categories, all area ranges, some crowd) and 100 detections per
 * image.
 *
 *   npx tsx bench/eval.ts [--images 5000] [--dets 100] [--no-peer]
 *
 * pycocotools is looked for in $PYCOCOTOOLS_PATH (a folder containing the
 * `pycocotools` package), else /tmp/cocoapi/PythonAPI; Python is $PYTHON or
 * /usr/bin/python3. When it is absent the table says so. Each side runs in a
 * child process so that its peak memory (max RSS) is its own. Prints a table
 * and, last, one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

interface SideResult {
  /** evaluate + accumulate + summarize, seconds */
  evalSeconds: number;
  /** the same, process CPU seconds (less sensitive to a busy machine) */
  evalCpuSeconds: number;
  /** including reading and parsing both JSON files */
  totalSeconds: number;
  maxRssMB: number;
  stats: number[];
}

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};

async function child(gtFile: string, dtFile: string): Promise<void> {
  const { loadCocoDataset, loadCocoResults, evaluateCoco } =
    await import('../src/evaluation/index.js');
  const t0 = performance.now();
  const gt = loadCocoDataset(gtFile);
  const dt = loadCocoResults(dtFile);
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const r = evaluateCoco(gt, dt, { iouType: 'bbox' });
  const c2 = process.cpuUsage(c1);
  const t2 = performance.now();
  const out: SideResult = {
    evalSeconds: (t2 - t1) / 1000,
    evalCpuSeconds: (c2.user + c2.system) / 1e6,
    totalSeconds: (t2 - t0) / 1000,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    stats: r.stats,
  };
  console.log(JSON.stringify(out));
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(
  nImages: number,
  detsPerImage: number,
): { gt: object; dt: object[]; nGt: number } {
  const rand = mulberry32(2024);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const nCat = 80;
  const images = [];
  const annotations = [];
  const dt = [];
  const categories = Array.from({ length: nCat }, (_, k) => ({
    id: k + 1 + Math.floor(k / 10),
    name: `class${k}`,
  }));
  let aid = 1;
  for (let i = 0; i < nImages; i++) {
    const w = 480 + Math.floor(rand() * 160);
    const h = 360 + Math.floor(rand() * 160);
    const id = 1 + i * 7;
    images.push({ id, width: w, height: h, file_name: `${id}.jpg` });
    // about 7.2 objects per image (0..15)
    const nObj = Math.floor(rand() * 15.4);
    const imgCats = Array.from(
      { length: 1 + Math.floor(rand() * 4) },
      () => categories[Math.floor(rand() * nCat)].id,
    );
    const boxes: [number, number, number, number, number][] = [];
    for (let j = 0; j < nObj; j++) {
      // log-uniform sizes: small, medium and large objects
      const bw = Math.exp(Math.log(4) + rand() * Math.log(300 / 4));
      const bh = Math.min(h - 1, bw * (0.5 + rand()));
      const x = rand() * (w - Math.min(bw, w - 1));
      const y = rand() * (h - bh);
      const cat = imgCats[Math.floor(rand() * imgCats.length)];
      const crowd = rand() < 0.01 ? 1 : 0;
      const box = [r2(x), r2(y), r2(Math.min(bw, w - x)), r2(bh)];
      annotations.push({
        id: aid++,
        image_id: id,
        category_id: cat,
        bbox: box,
        area: r2(box[2] * box[3] * (0.6 + 0.4 * rand())),
        iscrowd: crowd,
      });
      boxes.push([cat, box[0], box[1], box[2], box[3]]);
    }
    let n = 0;
    for (const [cat, x, y, bw, bh] of boxes) {
      const k = 1 + Math.floor(rand() * 3);
      for (let q = 0; q < k && n < detsPerImage; q++, n++) {
        const jx = (rand() - 0.5) * 0.3 * bw;
        const jy = (rand() - 0.5) * 0.3 * bh;
        dt.push({
          image_id: id,
          category_id: rand() < 0.9 ? cat : categories[Math.floor(rand() * nCat)].id,
          bbox: [
            r2(x + jx),
            r2(y + jy),
            r2(bw * (0.8 + 0.4 * rand())),
            r2(bh * (0.8 + 0.4 * rand())),
          ],
          score: Math.round(rand() * 1000) / 1000,
        });
      }
    }
    for (; n < detsPerImage; n++) {
      const bw = 5 + rand() * 200;
      const bh = 5 + rand() * 200;
      const cat =
        rand() < 0.7
          ? imgCats[Math.floor(rand() * imgCats.length)]
          : categories[Math.floor(rand() * nCat)].id;
      dt.push({
        image_id: id,
        category_id: cat,
        bbox: [r2(rand() * (w - bw)), r2(rand() * Math.max(1, h - bh)), r2(bw), r2(bh)],
        score: Math.round(rand() * 1000) / 1000,
      });
    }
  }
  return { gt: { images, annotations, categories }, dt, nGt: annotations.length };
}

const PY = String.raw`
import json, sys, time, resource, io, contextlib
sys.path.insert(0, sys.argv[1])
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[2])
    dt = gt.loadRes(sys.argv[3])
    t1 = time.perf_counter()
    c1 = time.process_time()
    E = COCOeval(gt, dt, 'bbox')
    E.evaluate(); E.accumulate(); E.summarize()
    c2 = time.process_time()
t2 = time.perf_counter()
print(json.dumps({'evalSeconds': t2 - t1, 'evalCpuSeconds': c2 - c1, 'totalSeconds': t2 - t0,
                  'maxRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  'stats': [float(v) for v in E.stats]}))
`;

function findPycocotools(): string | undefined {
  const cands = [process.env.PYCOCOTOOLS_PATH, '/tmp/cocoapi/PythonAPI'].filter(
    (p): p is string => !!p,
  );
  for (const c of cands) {
    const dir = join(c, 'pycocotools');
    if (
      existsSync(dir) &&
      readdirSync(dir).some(
        (f) => f.startsWith('_mask') && (f.endsWith('.so') || f.endsWith('.pyd')),
      )
    )
      return c;
  }
  return undefined;
}

function lastJson(stdout: string): SideResult {
  const line = stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as SideResult;
}

async function main(): Promise<void> {
  const nImages = opt('images', 5000);
  const nDets = opt('dets', 100);
  const dir = join(tmpdir(), 'tfdet-bench-eval');
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const { gt, dt, nGt } = generate(nImages, nDets);
  const gtFile = join(dir, 'gt.json');
  const dtFile = join(dir, 'dt.json');
  writeFileSync(gtFile, JSON.stringify(gt));
  writeFileSync(dtFile, JSON.stringify(dt));
  console.log(
    `generated ${nImages} images, ${nGt} ground-truth boxes, ${dt.length} detections in ${((performance.now() - t0) / 1000).toFixed(1)} s (${dir})`,
  );

  const self = fileURLToPath(import.meta.url);
  const ours = spawnSync(process.execPath, [...process.execArgv, self, '--child', gtFile, dtFile], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (ours.status !== 0) throw new Error(`ours failed: ${ours.stderr}`);
  const o = lastJson(ours.stdout);

  let peer: SideResult | undefined;
  let peerNote = '';
  const pyPath = args.includes('--no-peer') ? undefined : findPycocotools();
  if (!pyPath) {
    peerNote =
      'pycocotools: absent (set PYCOCOTOOLS_PATH to a folder holding a built pycocotools package)';
  } else {
    const python = process.env.PYTHON ?? '/usr/bin/python3';
    const pr = spawnSync(python, ['-c', PY, pyPath, gtFile, dtFile], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (pr.status !== 0)
      peerNote = `pycocotools: failed to run (${pr.stderr.trim().split('\n').pop()})`;
    else peer = lastJson(pr.stdout);
  }

  const fmt = (v: number | undefined, d = 2) => (v === undefined ? '-' : v.toFixed(d));
  console.log('');
  console.log('| impl | evaluate (s) | evaluate CPU (s) | incl. JSON load (s) | peak RSS (MB) |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| tfdet evaluateCoco | ${fmt(o.evalSeconds)} | ${fmt(o.evalCpuSeconds)} | ${fmt(o.totalSeconds)} | ${fmt(o.maxRssMB, 0)} |`,
  );
  if (peer)
    console.log(
      `| pycocotools | ${fmt(peer.evalSeconds)} | ${fmt(peer.evalCpuSeconds)} | ${fmt(peer.totalSeconds)} | ${fmt(peer.maxRssMB, 0)} |`,
    );
  let maxDiff: number | undefined;
  if (peer) {
    maxDiff = Math.max(...o.stats.map((v, i) => Math.abs(v - peer.stats[i])));
    console.log(
      `\nspeed-up: ${(peer.evalSeconds / o.evalSeconds).toFixed(1)}x (evaluate), ${(peer.evalCpuSeconds / o.evalCpuSeconds).toFixed(1)}x (evaluate CPU), ${(peer.totalSeconds / o.totalSeconds).toFixed(1)}x (incl. load)`,
    );
    console.log(`stats max |ours - pycocotools| = ${maxDiff}`);
  } else {
    console.log(`\n${peerNote}`);
  }
  console.log(
    `AP=${o.stats[0].toFixed(4)} AP50=${o.stats[1].toFixed(4)} AR100=${o.stats[8].toFixed(4)}`,
  );
  console.log(
    JSON.stringify({
      bench: 'eval',
      images: nImages,
      gtBoxes: nGt,
      detections: dt.length,
      ours: {
        evalSeconds: o.evalSeconds,
        evalCpuSeconds: o.evalCpuSeconds,
        totalSeconds: o.totalSeconds,
        maxRssMB: o.maxRssMB,
      },
      pycocotools: peer
        ? {
            evalSeconds: peer.evalSeconds,
            evalCpuSeconds: peer.evalCpuSeconds,
            totalSeconds: peer.totalSeconds,
            maxRssMB: peer.maxRssMB,
          }
        : null,
      speedupEval: peer ? peer.evalSeconds / o.evalSeconds : null,
      speedupEvalCpu: peer ? peer.evalCpuSeconds / o.evalCpuSeconds : null,
      speedupTotal: peer ? peer.totalSeconds / o.totalSeconds : null,
      statsMaxAbsDiff: maxDiff ?? null,
    }),
  );
}

if (args[0] === '--child') {
  await child(args[1], args[2]);
} else {
  await main();
}
