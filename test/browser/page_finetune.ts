/**
 * The page side of the fine-tuning test (test/browser/models.test.ts):
 * starts `dist/finetune_worker.js` as a module worker, posts the model and
 * the boxed images (as ImageBitmaps), runs the iterations and returns every
 * step's losses and the fine-tuned checkpoint as base64.
 */
export interface FineTuneJob {
  backend: string;
  iterations: number;
  batchSize?: number;
  config: string;
  checkpoint: string;
  images: { url: string; boxes: number[][]; labels: number[] }[];
}

export interface FineTuneResult {
  losses: number[];
  lrs: number[];
  checkpointBase64: string;
  ms: number;
}

export async function runFineTune(job: FineTuneJob): Promise<FineTuneResult | string> {
  const cfg = (await (await fetch(job.config)).json()) as unknown;
  const ckpt = await (await fetch(job.checkpoint)).arrayBuffer();
  const worker = new Worker('/dist/finetune_worker.js', { type: 'module' });
  const losses: number[] = [];
  const lrs: number[] = [];
  const t0 = performance.now();
  try {
    const bytes = await new Promise<ArrayBuffer>((ok, bad) => {
      worker.onerror = (e) => bad(new Error(`worker: ${e.message}`));
      worker.onmessage = (e: MessageEvent) => {
        const m = e.data as { type: string; [k: string]: unknown };
        if (m.type === 'error') bad(new Error(`${String(m.message)}\n${String(m.stack ?? '')}`));
        else if (m.type === 'ready') void addAndRun();
        else if (m.type === 'step') {
          losses.push((m.losses as Record<string, number>).loss);
          lrs.push(m.lr as number);
        } else if (m.type === 'done') ok(m.bytes as ArrayBuffer);
      };
      const addAndRun = async () => {
        for (const im of job.images) {
          const img = new Image();
          img.src = im.url;
          await img.decode();
          const bitmap = await createImageBitmap(img);
          worker.postMessage({ type: 'add', image: bitmap, boxes: im.boxes, labels: im.labels }, [
            bitmap,
          ]);
        }
        worker.postMessage({ type: 'run' });
      };
      worker.postMessage({
        type: 'init',
        backend: job.backend,
        config: cfg,
        checkpoint: ckpt,
        iterations: job.iterations,
        batchSize: job.batchSize,
      });
    });
    const u8 = new Uint8Array(bytes);
    let bin = '';
    for (let i = 0; i < u8.length; i += 0x8000)
      bin += String.fromCharCode(...u8.subarray(i, i + 0x8000));
    return { losses, lrs, checkpointBase64: btoa(bin), ms: performance.now() - t0 };
  } catch (e) {
    return (e as Error).message;
  } finally {
    worker.terminate();
  }
}
