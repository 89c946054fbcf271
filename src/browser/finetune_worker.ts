/**
 * The fine-tuning Web Worker (`dist/browser/finetune_worker.js`, a module
 * worker beside `tfdet.js`, which it imports): the page posts the model and
 * the boxed images, the worker trains with {@link FineTuner} off the page's
 * thread and posts each step's losses, then the fine-tuned `.safetensors`.
 *
 * Messages in: `{ type: 'init', backend, config, checkpoint, iterations?,
 * batchSize?, seed? }`, `{ type: 'add', image, boxes, labels }` (image: an
 * `ImageBitmap` or `{ data, width, height }`), `{ type: 'run', iterations? }`,
 * `{ type: 'checkpoint' }`. Out: `ready`, `added`, `step` (`iter`, `lr`,
 * `losses`), `done` and `checkpoint` (`bytes`: an ArrayBuffer), `error`
 * (`message`, `stack`).
 */
import { setBackend, type BrowserBackendName } from './backend.js';
import { FineTuner, type FineTuneOptions } from './finetune.js';
import type { ImageInput } from './detector.js';

type Msg =
  | ({ type: 'init'; backend: BrowserBackendName } & FineTuneOptions)
  | { type: 'add'; image: ImageInput; boxes: number[][]; labels: number[] }
  | { type: 'run'; iterations?: number }
  | { type: 'checkpoint' };

interface WorkerScope {
  onmessage: ((e: MessageEvent<Msg>) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let tuner: FineTuner | undefined;
// One message at a time, in the order posted: a run finishes before the next add.
let queue: Promise<void> = Promise.resolve();

function need(): FineTuner {
  if (!tuner) throw new Error("send { type: 'init', ... } first");
  return tuner;
}

function postBytes(type: string, bytes: Uint8Array): void {
  const copy = bytes.slice().buffer;
  scope.postMessage({ type, bytes: copy }, [copy]);
}

async function handle(m: Msg): Promise<void> {
  if (m.type === 'init') {
    const { name } = await setBackend(m.backend);
    tuner?.dispose();
    tuner = await FineTuner.create(m);
    scope.postMessage({ type: 'ready', backend: name, iterations: tuner.iterations });
  } else if (m.type === 'add') {
    await need().addSample(m.image, m.boxes, m.labels);
    scope.postMessage({ type: 'added', count: need().samples.length });
  } else if (m.type === 'run') {
    const t = need();
    const until = t.iter + (m.iterations ?? t.iterations - t.iter);
    while (t.iter < until) scope.postMessage({ type: 'step', ...(await t.step()) });
    postBytes('done', await t.checkpointBytes());
  } else if (m.type === 'checkpoint') {
    postBytes('checkpoint', await need().checkpointBytes());
  }
}

scope.onmessage = (e) => {
  queue = queue
    .then(() => handle(e.data))
    .catch((err: unknown) =>
      scope.postMessage({
        type: 'error',
        message: err instanceof Error ? err.message : String(err),
        stack: err instanceof Error ? err.stack : undefined,
      }),
    );
};
