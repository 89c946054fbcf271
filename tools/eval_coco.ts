/**
 * A pycocotools-free COCO evaluator.
 *
 *   npx tsx tools/eval_coco.ts --gt instances_val2017.json --dt results.json --iou-type bbox [--json]
 *
 * Prints pycocotools' 12 summary lines; with `--json` the last line is one
 * JSON object `{AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl}`.
 * Exit status 0 on success, 1 on bad input (the message names the file and
 * the JSON path), 2 on bad usage.
 *
 * A ground truth that pycocotools scores as it is although it is
 * inconsistent (a reused image id, annotations of a missing image, a negative
 * box width or height, an RLE whose size or runs do not fit its image) gets
 * one counted warning line per kind of problem on stderr; `--strict` makes
 * them an error (exit 1) listing every problem. So do results that
 * pycocotools drops or scores 0 without a word (a category id that is no
 * category of the ground truth, an RLE whose size is not its image's).
 */
import { parseArgs } from 'node:util';
import { runCli, UsageError } from '../src/engine/cli.js';
import {
  checkCocoDataset,
  checkCocoResults,
  COCO_STAT_NAMES,
  type CocoProblem,
  evaluateCoco,
  formatCocoSummary,
  loadCocoDataset,
  loadCocoResults,
  summarizeCocoProblems,
} from '../src/evaluation/index.js';

const USAGE =
  'usage: eval_coco --gt GT.json --dt RESULTS.json [--iou-type bbox|segm] [--json] [--strict]';

function main(argv: string[]): number {
  let values: {
    gt?: string;
    dt?: string;
    'iou-type'?: string;
    json?: boolean;
    strict?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        gt: { type: 'string' },
        dt: { type: 'string' },
        'iou-type': { type: 'string', default: 'bbox' },
        json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message, USAGE);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const iouType = values['iou-type'];
  if (!values.gt || !values.dt || (iouType !== 'bbox' && iouType !== 'segm')) {
    throw new UsageError(
      !values.gt
        ? '--gt is required'
        : !values.dt
          ? '--dt is required'
          : `--iou-type must be bbox or segm, got ${JSON.stringify(iouType)}`,
      USAGE,
    );
  }
  const gt = loadCocoDataset(values.gt);
  const report = (file: string, problems: CocoProblem[]) => {
    if (problems.length && values.strict)
      throw new Error(
        `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'} (--strict):\n  ${problems.map((p) => p.message).join('\n  ')}`,
      );
    for (const line of summarizeCocoProblems(problems))
      console.warn(`Warning: ${file}: ${line} (scored as pycocotools does; --strict rejects it)`);
  };
  report(values.gt, checkCocoDataset(gt));
  const dt = loadCocoResults(values.dt);
  report(values.dt, checkCocoResults(gt, dt));
  const r = evaluateCoco(gt, dt, { iouType, resultsFile: values.dt, gtFile: values.gt });
  console.log(formatCocoSummary(r));
  if (values.json)
    console.log(JSON.stringify(Object.fromEntries(COCO_STAT_NAMES.map((k, i) => [k, r.stats[i]]))));
  return 0;
}

runCli(() => main(process.argv.slice(2)));
