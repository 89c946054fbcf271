/**
 * The page side of test/browser/models.test.ts, run by `page.evaluate`:
 * for each backend and model, `loadDetector` from URLs and `detect()` on
 * each image URL (decoded by the browser as an HTMLImageElement). Returns
 * per backend either the results or the error text.
 */
export interface PageJob {
  backends: string[];
  models: { name: string; config: string; checkpoint: string; images: string[] }[];
  scoreThr: number;
}

export interface PageDetection {
  bbox: number[];
  score: number;
  label: number;
  className: string;
  segmentation?: { size: [number, number]; counts: string };
}

export interface PageImageResult {
  width: number;
  height: number;
  detections: PageDetection[];
  semSeg?: number[];
  reads: number;
  times: Record<string, number>;
}

export type PageResults = Record<string, Record<string, PageImageResult[]> | string>;

/** Runs in the page; `window.tfdet` is the bundle's module. */
export async function runPageJob(job: PageJob): Promise<PageResults> {
  type Tfdet = typeof import('../../src/browser/index.js');
  const tfdet = (window as unknown as { tfdet: Tfdet }).tfdet;
  const out: PageResults = {};
  for (const backend of job.backends) {
    try {
      await tfdet.setBackend(backend as 'webgpu');
      const perModel: Record<string, PageImageResult[]> = {};
      for (const m of job.models) {
        const det = await tfdet.loadDetector({ config: m.config, checkpoint: m.checkpoint });
        const list: PageImageResult[] = [];
        for (const url of m.images) {
          const img = new Image();
          img.src = url;
          await img.decode();
          const r = await det.detect(img, { scoreThr: job.scoreThr });
          list.push({
            width: r.width,
            height: r.height,
            detections: r.detections,
            semSeg: r.semSeg ? Array.from(r.semSeg.data) : undefined,
            reads: r.reads,
            times: r.times,
          });
        }
        det.dispose();
        perModel[m.name] = list;
      }
      out[backend] = perModel;
    } catch (e) {
      out[backend] = `${(e as Error).message}\n${(e as Error).stack ?? ''}`;
    }
  }
  return out;
}
