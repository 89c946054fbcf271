/**
 * Plot curves from training logs (`<work dir>/<timestamp>/vis_data/scalars.json`).
 *
 *   npx tsx tools/analyze_logs.ts LOG.jsonl [LOG2.jsonl ...] --keys loss,bbox_mAP --out curves.png
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { plotPanels, readScalars, seriesOf, type Series } from '../src/engine/plot.js';
import { runCli } from '../src/engine/cli.js';
import { writeFileAtomic } from '../src/utils/fs.js';

const HELP = `usage: tools/analyze_logs.ts LOG.jsonl [LOG.jsonl ...] [options]

Plot keys of JSON-lines scalar logs (vis_data/scalars.json) to a PNG (or SVG) and print a summary.

options:
  --keys K1,K2        keys to plot (default loss); a key matches a full name or the part after '/'
                      (bbox_mAP matches coco/bbox_mAP). Training keys are plotted against the iteration,
                      metrics against the epoch (or iteration of iteration-based runs)
  --out FILE          output image, .png or .svg (default curves.png)
  --legend N1,N2      names of the logs in the legend (default the file names)
  --title TEXT        title of the figure
  -h, --help          show this help
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      keys: { type: 'string' },
      out: { type: 'string' },
      legend: { type: 'string' },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (positionals.length === 0) throw new Error('expected at least one LOG.jsonl (see --help)');
  const keys = (values.keys ?? 'loss')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const legend = values.legend?.split(',');
  const logs = positionals.map((f, i) => {
    if (!fs.existsSync(f)) throw new Error(`log file not found: ${f}`);
    const name =
      legend?.[i] ??
      (path.basename(f) === 'scalars.json'
        ? path.basename(path.dirname(path.dirname(f)))
        : path.basename(f));
    return { name, records: readScalars(fs.readFileSync(f, 'utf8'), f) };
  });
  const panels = keys.map((k) => {
    const series: Series[] = [];
    let title = k;
    let metric = false;
    for (const log of logs) {
      const s = seriesOf(log.records, k);
      if (!s) continue;
      title = s.name;
      metric ||= log.records.some((r) => s.name in r && !('loss' in r || 'lr' in r));
      series.push({ name: log.name, points: s.points });
      const ys = s.points.map((p) => p[1]);
      if (ys.length)
        console.log(
          `${log.name} ${s.name}: ${ys.length} points, first ${ys[0]}, last ${ys[ys.length - 1]}, min ${Math.min(...ys)}, max ${Math.max(...ys)}`,
        );
    }
    if (!series.length) {
      const known = [
        ...new Set(logs.flatMap((l) => l.records.flatMap((r) => Object.keys(r)))),
      ].filter((n) => !['iter', 'epoch', 'step'].includes(n));
      throw new Error(`key '${k}' is in none of the logs (keys: ${known.join(', ')})`);
    }
    return { title, xLabel: metric ? 'epoch' : 'iter', series };
  });
  const svg = plotPanels(panels, { title: values.title });
  const out = values.out ?? 'curves.png';
  if (out.endsWith('.svg')) writeFileAtomic(out, svg);
  else writeFileAtomic(out, await sharp(Buffer.from(svg)).png().toBuffer());
  console.log(`wrote ${out}`);
}

runCli(main);
