/**
 * The browser demo: loads the model `GET /api/model` names (served by
 * tools/serve_web.ts from a work dir) into tfdet's browser bundle, runs it
 * on images the user drops or picks, or on the webcam, and draws the boxes,
 * instance masks and label maps with the time of each stage.
 *
 * Plain ES module, no build step. Everything runs in the page: no request
 * leaves the server this page came from.
 *
 * For tests and the console: `window.demo` (see the end of this file), and
 * `document.body.dataset.state`: 'busy' while something runs, 'ready' once a
 * model is loaded and nothing has been detected yet, 'done' after a
 * detection, 'error' when the last job failed (the status line says why).
 */
import * as tfdet from '/dist/tfdet.js';

const BACKENDS = ['webgpu', 'webgl', 'wasm'];
const params = new URLSearchParams(location.search);

/** Distinct colours, one per class label (boxes, masks, label maps). */
const PALETTE = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 200, 200],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [170, 110, 40],
  [128, 0, 0],
  [255, 225, 25],
  [128, 128, 0],
  [0, 0, 128],
];
const colourOf = (label) => PALETTE[label % PALETTE.length];
const css = ([r, g, b], a = 1) => `rgba(${r}, ${g}, ${b}, ${a})`;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  backend: $('backend'),
  thr: $('thr'),
  thrValue: $('thr-value'),
  top: $('top'),
  images: $('images'),
  drop: $('drop'),
  results: $('results'),
  webcam: $('webcam'),
  clear: $('clear'),
  configFile: $('config-file'),
  checkpointFile: $('checkpoint-file'),
  loadFiles: $('load-files'),
};

const app = {
  backend: undefined,
  detector: undefined,
  /** The model's config object and checkpoint bytes: kept to rebuild it on another backend. */
  model: undefined,
  /** One entry per image shown: { name, bitmap, card, result, thr }. */
  images: [],
  /** The running webcam: { stream, video, frame, card, running }. */
  webcam: undefined,
};

const scoreThr = () => Number(ui.thr.value);
/** How many detections to draw per image, best first (0: all above the threshold). */
const topN = () => Number(ui.top.value);

// ---------------------------------------------------------------------------
// Jobs and state. Model loads, backend switches and detections share the one
// backend, so they run one at a time, in the order asked for.

let queue = Promise.resolve();

/** Runs `job` after the ones before it; the returned promise settles with it. */
function enqueue(job) {
  const run = queue.then(job);
  queue = run.catch(() => {});
  return run;
}

function setStatus(text, isError = false) {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', isError);
}

/** A queued job with the page state around it: busy while it runs, `after` or error when it ends. */
function job(label, fn, after = 'done') {
  return enqueue(async () => {
    document.body.dataset.state = 'busy';
    setStatus(`${label}…`);
    try {
      const out = await fn();
      document.body.dataset.state = after;
      return out;
    } catch (e) {
      console.error(e);
      setStatus(`${label} failed: ${e instanceof Error ? e.message : e}`, true);
      document.body.dataset.state = 'error';
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------
// Backend and model.

/** Starts `name`, or the first of BACKENDS that starts; marks the ones that cannot. */
async function startBackend(name) {
  const order = name ? [name] : BACKENDS;
  const errors = [];
  for (const b of order) {
    try {
      const choice = await tfdet.setBackend(b);
      app.backend = choice.name;
      ui.backend.value = choice.name;
      return choice;
    } catch (e) {
      errors.push(e.message);
      const opt = ui.backend.querySelector(`option[value="${b}"]`);
      if (opt) opt.textContent = `${b} (unavailable)`;
    }
  }
  throw new Error(errors.join('; '));
}

/** Builds the detector of `app.model` on the current backend, freeing the one before. */
async function buildDetector() {
  app.detector?.dispose();
  app.detector = undefined;
  const t0 = performance.now();
  app.detector = await tfdet.loadDetector({
    config: app.model.config,
    checkpoint: app.model.checkpoint,
  });
  return performance.now() - t0;
}

async function fetchOk(url) {
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) {
    // /api/model answers {error} saying what to run
    const body = await res.text();
    let msg = body;
    try {
      msg = JSON.parse(body).error ?? body;
    } catch {
      // not JSON: the text as it is
    }
    throw new Error(`${url}: ${res.status} ${msg}`);
  }
  return res;
}

/** The model the server names: its config and checkpoint, fetched once. */
async function fetchServerModel() {
  const info = await (await fetchOk('/api/model')).json();
  const [config, bytes] = await Promise.all([
    fetchOk(info.config).then((r) => r.json()),
    fetchOk(info.checkpoint).then((r) => r.arrayBuffer()),
  ]);
  const name = `${decodeURIComponent(info.config.split('/').pop())} + ${decodeURIComponent(info.checkpoint.split('/').pop())}`;
  return { name, config, checkpoint: new Uint8Array(bytes) };
}

/** A model from the two file inputs (loadDetector takes the config as an object, the checkpoint as a File). */
async function filesModel(configFile, checkpointFile) {
  const config = JSON.parse(await configFile.text());
  return {
    name: `${configFile.name} + ${checkpointFile.name}`,
    config,
    checkpoint: checkpointFile,
  };
}

function modelStatus(loadMs) {
  const classes = app.detector.classes;
  return `${app.backend} · ${app.model.name} · ${classes.length} classes (${classes.join(', ')}) · loaded in ${(loadMs / 1000).toFixed(1)} s`;
}

/** Loads `model` ({name, config, checkpoint}) and reruns the images shown. */
function useModel(model) {
  return job(
    'loading the model',
    async () => {
      app.model = model;
      const ms = await buildDetector();
      setStatus(modelStatus(ms));
      for (const e of app.images) await detectEntry(e);
    },
    app.images.length ? 'done' : 'ready',
  );
}

/** Switches the backend, rebuilds the model on it and reruns the images. */
function switchBackend(name) {
  return job(
    `starting ${name}`,
    async () => {
      await startBackend(name);
      if (!app.model) return;
      const ms = await buildDetector();
      setStatus(modelStatus(ms));
      for (const e of app.images) await detectEntry(e);
    },
    app.images.length ? 'done' : 'ready',
  );
}

// ---------------------------------------------------------------------------
// Detection and drawing.

/** Display scale: small images (the 128-px shapes) drawn larger, big ones fit the page. */
function displayScale(w, h) {
  const m = Math.max(w, h);
  return Math.min(640 / m, Math.max(1, 384 / m));
}

/**
 * Draws `source` with `result` on `canvas`: the label map, then instance
 * masks, then boxes with labels (highest score last, so on top). Only
 * detections with score >= thr are drawn, so moving the slider up needs no
 * new detection.
 */
function drawResult(canvas, source, result, thr) {
  const s = displayScale(result.width, result.height);
  canvas.width = Math.round(result.width * s);
  canvas.height = Math.round(result.height * s);
  const g = canvas.getContext('2d');
  g.imageSmoothingEnabled = true;
  g.drawImage(source, 0, 0, canvas.width, canvas.height);
  const classes = app.detector?.classes ?? [];
  if (result.semSeg) drawOverlay(g, labelMapOverlay(result.semSeg, classes), canvas);
  // the best `topN()` above the threshold, drawn worst first so the best end up on top
  const above = result.detections.filter((d) => d.score >= thr).sort((a, b) => b.score - a.score);
  const dets = (topN() > 0 ? above.slice(0, topN()) : above).reverse();
  const masked = dets.filter((d) => d.segmentation || d.mask);
  if (masked.length) drawOverlay(g, maskOverlay(masked, result.width, result.height), canvas);
  for (const d of dets) drawBox(g, d, s);
  return dets;
}

/** Puts `imageData` (image-sized) scaled over the canvas; putImageData itself would not blend. */
function drawOverlay(g, imageData, canvas) {
  const layer = new OffscreenCanvas(imageData.width, imageData.height);
  layer.getContext('2d').putImageData(imageData, 0, 0);
  g.save();
  g.imageSmoothingEnabled = false; // crisp class borders
  g.drawImage(layer, 0, 0, canvas.width, canvas.height);
  g.restore();
}

/** The label map in class colours, translucent; 'background' stays clear. */
function labelMapOverlay(seg, classes) {
  const out = new ImageData(seg.width, seg.height);
  const bg = classes.indexOf('background');
  for (let i = 0; i < seg.data.length; i++) {
    const l = seg.data[i];
    if (l === bg || l === 255) continue; // 255: ignore index
    const [r, gr, b] = colourOf(l);
    out.data.set([r, gr, b, 120], i * 4);
  }
  return out;
}

/** Instance masks in their class colour: translucent fill, opaque outline. */
function maskOverlay(dets, w, h) {
  const out = new ImageData(w, h);
  for (const d of dets) {
    const m = d.mask ?? tfdet.rleDecode(d.segmentation); // row-major h*w 0/1
    const [r, g, b] = colourOf(d.label);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!m[i]) continue;
        const edge =
          x === 0 ||
          y === 0 ||
          x === w - 1 ||
          y === h - 1 ||
          !m[i - 1] ||
          !m[i + 1] ||
          !m[i - w] ||
          !m[i + w];
        out.data.set([r, g, b, edge ? 255 : 140], i * 4);
      }
  }
  return out;
}

/** A box with a `className score` tag above it (inside when there is no room above). */
function drawBox(g, d, s) {
  const [x1, y1, x2, y2] = d.bbox.map((v) => v * s);
  const col = colourOf(d.label);
  g.lineWidth = 2;
  g.strokeStyle = css(col);
  g.strokeRect(x1, y1, x2 - x1, y2 - y1);
  const text = `${d.className} ${d.score.toFixed(2)}`;
  g.font = 'bold 13px system-ui, sans-serif';
  const tw = g.measureText(text).width + 8;
  const th = 18;
  const tx = Math.min(Math.max(0, x1 - 1), g.canvas.width - tw);
  const ty = y1 - th >= 0 ? y1 - th : y1;
  g.fillStyle = css(col, 0.9);
  g.fillRect(tx, ty, tw, th);
  const [r, gr, b] = col;
  g.fillStyle = 0.299 * r + 0.587 * gr + 0.114 * b > 150 ? '#000' : '#fff'; // legible on any colour
  g.textBaseline = 'middle';
  g.fillText(text, tx + 4, ty + th / 2 + 1);
}

const ms = (v) => v.toFixed(1);

/** The text under a picture: stage times, what was drawn, and the legend of a label map. */
function describe(card, result, dets) {
  const t = result.times;
  card.times.textContent = `${app.backend}: preprocess ${ms(t.preprocess)} · network ${ms(t.network)} · post-process ${ms(t.postprocess)} · total ${ms(t.total)} ms`;
  const counts = {};
  for (const d of dets) counts[d.className] = (counts[d.className] ?? 0) + 1;
  const list = Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  card.summary.textContent = result.semSeg
    ? `label map ${result.semSeg.width}×${result.semSeg.height}`
    : `${dets.length} of ${result.detections.length} detections with score ≥ ${scoreThr().toFixed(2)} drawn${list ? `: ${list}` : ''}`;
  card.legend.replaceChildren();
  const total = result.semSeg ? result.semSeg.width * result.semSeg.height : 1;
  for (const c of result.semSeg?.classes ?? []) {
    const li = document.createElement('li');
    const sw = document.createElement('i');
    sw.style.background = c.className === 'background' ? 'transparent' : css(colourOf(c.label));
    sw.style.outline = '1px solid #0003';
    li.append(sw, `${c.className} ${((100 * c.pixels) / total).toFixed(1)}%`);
    card.legend.append(li);
  }
}

/** A result card: title, canvas, times, summary, legend. */
function makeCard(title) {
  const el = document.createElement('article');
  el.className = 'card';
  const h = document.createElement('h2');
  h.textContent = title;
  const canvas = document.createElement('canvas');
  const times = document.createElement('p');
  times.className = 'times';
  const summary = document.createElement('p');
  summary.className = 'summary';
  const legend = document.createElement('ul');
  legend.className = 'legend';
  el.append(h, canvas, times, summary, legend);
  ui.results.append(el);
  return { el, title: h, canvas, times, summary, legend };
}

/** Detects in one shown image at the slider's threshold and draws it (inside a job). */
async function detectEntry(e) {
  if (!app.detector) throw new Error('no model loaded');
  e.thr = scoreThr();
  e.result = await app.detector.detect(e.bitmap, { scoreThr: e.thr });
  e.drawn = drawResult(e.card.canvas, e.bitmap, e.result, e.thr);
  describe(e.card, e.result, e.drawn);
  return e.result;
}

/** Shows and detects each image (Files or Blobs); decoded straight from the bytes, no blob: URL. */
function addImages(files) {
  const list = [...files].filter((f) => !f.type || f.type.startsWith('image/'));
  if (!list.length) return Promise.resolve([]);
  return job(`detecting ${list.length} image${list.length === 1 ? '' : 's'}`, async () => {
    const out = [];
    for (const f of list) {
      const bitmap = await createImageBitmap(f);
      const e = { name: f.name ?? 'image', bitmap, card: makeCard(f.name ?? 'image') };
      e.card.title.textContent = `${e.name} (${bitmap.width}×${bitmap.height})`;
      app.images.push(e);
      out.push(await detectEntry(e));
    }
    setStatus(`${app.backend} · ${app.model.name} · ${app.images.length} image(s) done`);
    return out;
  });
}

/** Redraws every shown image from its last result (the top-N choice changed). */
function redrawAll() {
  for (const e of app.images)
    if (e.result) {
      e.drawn = drawResult(e.card.canvas, e.bitmap, e.result, Math.max(scoreThr(), e.thr));
      describe(e.card, e.result, e.drawn);
    }
}

/** After the slider moved: a higher threshold only redraws; a lower one detects again. */
function onThreshold() {
  const thr = scoreThr();
  const again = app.images.filter((e) => e.result && thr < e.thr);
  for (const e of app.images)
    if (e.result && thr >= e.thr) {
      e.drawn = drawResult(e.card.canvas, e.bitmap, e.result, thr);
      describe(e.card, e.result, e.drawn);
    }
  if (again.length)
    job('detecting again at the lower threshold', async () => {
      for (const e of again) await detectEntry(e);
    }).catch(() => {});
}

// ---------------------------------------------------------------------------
// Webcam: each animation frame, grab the frame, detect, draw; one detection
// at a time (the next frame is taken once the last one is drawn).

async function startWebcam() {
  if (!navigator.mediaDevices?.getUserMedia) {
    setStatus('no camera API here (it needs localhost or https)', true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  } catch (e) {
    setStatus(`no camera: ${e.message}`, true);
    return;
  }
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play();
  const cam = {
    stream,
    video,
    frame: document.createElement('canvas'),
    card: makeCard('webcam'),
    running: true,
  };
  ui.results.prepend(cam.card.el);
  app.webcam = cam;
  ui.webcam.textContent = 'stop webcam';
  document.body.dataset.state = 'busy';
  requestAnimationFrame(() => webcamFrame(cam));
}

async function webcamFrame(cam) {
  if (!cam.running) return;
  const { video, frame } = cam;
  if (video.readyState >= 2 && app.detector) {
    frame.width = video.videoWidth;
    frame.height = video.videoHeight;
    frame.getContext('2d').drawImage(video, 0, 0);
    try {
      const thr = scoreThr();
      const r = await enqueue(() => app.detector.detect(frame, { scoreThr: thr }));
      if (!cam.running) return;
      describe(cam.card, r, drawResult(cam.card.canvas, frame, r, thr));
    } catch (e) {
      setStatus(`webcam detection failed: ${e.message}`, true);
      stopWebcam();
      document.body.dataset.state = 'error';
      return;
    }
  }
  requestAnimationFrame(() => webcamFrame(cam));
}

function stopWebcam() {
  const cam = app.webcam;
  if (!cam) return;
  cam.running = false;
  for (const t of cam.stream.getTracks()) t.stop();
  app.webcam = undefined;
  ui.webcam.textContent = 'webcam';
  if (document.body.dataset.state === 'busy') document.body.dataset.state = 'done';
}

// ---------------------------------------------------------------------------
// Wiring.

function wire() {
  ui.images.addEventListener('change', () => {
    addImages(ui.images.files).catch(() => {});
    ui.images.value = ''; // the same files again fire change again
  });
  for (const ev of ['dragenter', 'dragover'])
    ui.drop.addEventListener(ev, (e) => {
      e.preventDefault();
      ui.drop.classList.add('over');
    });
  for (const ev of ['dragleave', 'drop'])
    ui.drop.addEventListener(ev, () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    addImages(e.dataTransfer.files).catch(() => {});
  });
  ui.thr.addEventListener('input', () => (ui.thrValue.textContent = scoreThr().toFixed(2)));
  ui.thr.addEventListener('change', onThreshold);
  ui.top.addEventListener('change', redrawAll);
  ui.backend.addEventListener('change', () => switchBackend(ui.backend.value).catch(() => {}));
  ui.webcam.addEventListener('click', () => (app.webcam ? stopWebcam() : startWebcam()));
  ui.clear.addEventListener('click', () => {
    for (const e of app.images) e.bitmap.close();
    app.images = [];
    for (const el of [...ui.results.children]) if (el !== app.webcam?.card.el) el.remove();
  });
  ui.loadFiles.addEventListener('click', async () => {
    const [cfg, ckpt] = [ui.configFile.files[0], ui.checkpointFile.files[0]];
    if (!cfg || !ckpt) {
      setStatus('pick a resolved config (.json) and a checkpoint (.safetensors) first', true);
      return;
    }
    try {
      await useModel(await filesModel(cfg, ckpt));
    } catch (e) {
      setStatus(`loading ${cfg.name} failed: ${e.message}`, true);
      document.body.dataset.state = 'error';
    }
  });
}

/** Start-up: `?backend=webgl` picks one (else the first that starts), `?thr=0.5` the threshold, `?top=5` how many to draw. */
async function main() {
  if (params.has('top')) {
    const opt = document.createElement('option');
    opt.value = opt.textContent = String(Number(params.get('top')) || 0);
    if (!ui.top.querySelector(`option[value="${opt.value}"]`)) ui.top.append(opt);
    ui.top.value = opt.value;
  }
  if (params.has('thr')) {
    ui.thr.value = params.get('thr');
    ui.thrValue.textContent = scoreThr().toFixed(2);
  }
  wire();
  await job('starting the backend', () => startBackend(params.get('backend') ?? undefined), 'busy');
  const model = await job('fetching the model', fetchServerModel, 'busy');
  await useModel(model);
}

/** A serialisable summary of one shown image, for tests (no mask bitmaps). */
const summaryOf = (e) => ({
  name: e.name,
  width: e.result.width,
  height: e.result.height,
  thr: e.thr,
  detections: e.result.detections.map(({ bbox, score, label, className, segmentation }) => ({
    bbox,
    score,
    label,
    className,
    hasMask: !!segmentation,
  })),
  drawn: e.drawn.length,
  // pixels of the drawn instance masks (0 for a box model, or masks that came out empty)
  maskPixels: e.drawn
    .filter((d) => d.segmentation)
    .reduce((n, d) => n + tfdet.rleDecode(d.segmentation).reduce((a, v) => a + v, 0), 0),
  semSegClasses: e.result.semSeg?.classes,
  times: e.result.times,
});

/** Per image shown, how many canvas pixels the drawing changed (against the bare image at that size). */
function drawnPixels() {
  return app.images.map((e) => {
    const c = e.card.canvas;
    const bare = new OffscreenCanvas(c.width, c.height).getContext('2d');
    bare.drawImage(e.bitmap, 0, 0, c.width, c.height);
    const a = bare.getImageData(0, 0, c.width, c.height).data;
    const b = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < a.length; i += 4)
      if (
        Math.max(
          Math.abs(a[i] - b[i]),
          Math.abs(a[i + 1] - b[i + 1]),
          Math.abs(a[i + 2] - b[i + 2]),
        ) > 24
      )
        n++;
    return { name: e.name, width: c.width, height: c.height, changed: n };
  });
}

window.demo = {
  /** Resolves once the backend runs and the server's model is loaded. */
  ready: main(),
  tfdet,
  get backend() {
    return app.backend;
  },
  get classes() {
    return app.detector?.classes ?? [];
  },
  /** The images shown so far, summarised. */
  results: () => app.images.filter((e) => e.result).map(summaryOf),
  drawnPixels,
  /** Fetches an image (same origin) and detects in it as an upload would. */
  async detectUrl(url) {
    const blob = await (await fetchOk(url)).blob();
    const name = decodeURIComponent(url.split('/').pop());
    await addImages([new File([blob], name, { type: blob.type || 'image/png' })]);
    return summaryOf(app.images[app.images.length - 1]);
  },
  setBackend: (name) => switchBackend(name),
  setScoreThr(v) {
    ui.thr.value = String(v);
    ui.thrValue.textContent = scoreThr().toFixed(2);
    onThreshold();
  },
};
window.demo.ready.catch(() => {}); // reported in the status line already
