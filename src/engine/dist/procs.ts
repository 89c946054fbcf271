import * as os from 'node:os';

/** The number of workers `--nproc auto` starts: the cores this process may use. */
export function autoProcs(): number {
  return Math.max(1, os.availableParallelism());
}
