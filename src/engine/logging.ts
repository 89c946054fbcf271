/**
 * Run logging: a text log and a JSON-lines scalar log in the run's
 * timestamped folder, and the console (a redrawn progress bar on a TTY,
 * plain lines otherwise).
 */
import * as path from 'node:path';
import { appendFileNoFollow, ensureDir } from '../utils/fs.js';

/** Where console output goes (process.stdout by default). */
export interface ConsoleLike {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** `YYYYMMDD_HHMMSS` (mmengine's timestamp folder name). */
export function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A number as a log shows it: 4 significant digits, exponent form for small rates. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && Math.abs(v) < 1e-3) return v.toExponential(4);
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/** Writes the text log, the scalar log and the console. */
export class RunLogger {
  readonly logFile?: string;
  readonly scalarsFile?: string;
  private readonly out: ConsoleLike;
  private barShown = false;

  /**
   * @param logDir the run's `<workDir>/<timestamp>` folder; without one, only the console is written.
   */
  constructor(logDir: string | undefined, options: { console?: ConsoleLike; name?: string } = {}) {
    this.out = options.console ?? process.stdout;
    if (logDir) {
      this.logFile = path.join(logDir, `${options.name ?? path.basename(logDir)}.log`);
      this.scalarsFile = path.join(logDir, 'vis_data', 'scalars.json');
    }
  }

  private ready = false;

  /** Appends to a log file, creating the run folder on first use (a run that fails to build leaves nothing). */
  private append(file: string, text: string): void {
    if (!this.ready) {
      ensureDir(path.dirname(this.scalarsFile!));
      this.ready = true;
    }
    appendFileNoFollow(file, text);
  }

  get isTTY(): boolean {
    return !!this.out.isTTY;
  }

  /** A line to the text log and the console. */
  info(line: string): void {
    const stamped = `${new Date().toISOString().replace('T', ' ').slice(0, 19)} - tfdet - INFO - ${line}`;
    if (this.logFile) this.append(this.logFile, `${stamped}\n`);
    this.clearBar();
    this.out.write(`${line}\n`);
  }

  /** A line to the text log only. */
  file(line: string): void {
    if (this.logFile)
      this.append(
        this.logFile,
        `${new Date().toISOString().replace('T', ' ').slice(0, 19)} - tfdet - INFO - ${line}\n`,
      );
  }

  /** An error line (text log and console). */
  error(line: string): void {
    if (this.logFile)
      this.append(
        this.logFile,
        `${new Date().toISOString().replace('T', ' ').slice(0, 19)} - tfdet - ERROR - ${line}\n`,
      );
    this.clearBar();
  }

  /** One JSON line of scalars (`vis_data/scalars.json`). */
  scalars(record: Record<string, number | string>): void {
    if (this.scalarsFile) this.append(this.scalarsFile, `${JSON.stringify(record)}\n`);
  }

  /** Redraws the progress bar (TTY only). */
  bar(done: number, total: number, text: string): void {
    if (!this.isTTY) return;
    const width = 24;
    const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
    let line = `[${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}] ${done}/${total} ${text}`;
    const cols = this.out.columns || 120; // 0 when the terminal size is unknown
    if (line.length > cols - 1) line = line.slice(0, cols - 1);
    this.out.write(`\r\x1b[2K${line}`);
    this.barShown = true;
  }

  /** Ends the progress-bar line so that a plain line can follow. */
  clearBar(): void {
    if (this.barShown) {
      this.out.write('\r\x1b[2K');
      this.barShown = false;
    }
  }
}
