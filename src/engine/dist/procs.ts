import * as os from 'node:os';
import { UsageError } from '../cli.js';

/** The number of workers `--nproc auto` starts: the cores this process may use. */
export function autoProcs(): number {
  return Math.max(1, os.availableParallelism());
}

/** `--nproc N` or `auto` (the cores available); absent: 1. A bad value is a usage error. */
export function parseNproc(v: string | undefined): number {
  if (v === undefined) return 1;
  if (v === 'auto') return autoProcs();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(
      `--nproc: expected a positive integer or 'auto', got ${JSON.stringify(v)}`,
    );
  return n;
}
