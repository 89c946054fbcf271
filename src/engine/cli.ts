/**
 * Shared helpers of the tools' command lines: argument pre-processing
 * (mmengine-style `--cfg-options a=1 b=2` and an optional value after
 * `--resume`) and the one way a tool reports an error: `Error: message` on
 * stderr, no stack trace, exit status 1 (2 for a bad command line).
 */
import { CONFIG_FILE_RE } from '../config/config.js';
import { componentLoadNote } from './register_all.js';

/**
 * Rewrites `--cfg-options a=1 b=2` into repeated `--cfg-options=a=1
 * --cfg-options=b=2` for node:util parseArgs, and an optional value of
 * `flag` (`--resume [CKPT]`) into `--flag=CKPT`.
 *
 * @throws UsageError for an override without `=` (`--cfg-options key`) or none at all
 */
export function preprocessArgv(argv: string[], optionalValueFlags: string[] = []): string[] {
  const out: string[] = [];
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--cfg-options') {
      let n = 0;
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
        const v = argv[i + 1];
        if (!v.includes('=')) {
          // The config itself may follow the overrides; anything else is a key without a value.
          if (positionals === 0 && CONFIG_FILE_RE.test(v)) break;
          throw new UsageError(
            `--cfg-options: expected key=value, got ${JSON.stringify(v)} (e.g. ${v}=1)`,
          );
        }
        out.push(`--cfg-options=${v}`);
        i++;
        n++;
      }
      if (n === 0) throw new UsageError('--cfg-options: expected at least one key=value after it');
      continue;
    }
    const flag = optionalValueFlags.find((f) => a === `--${f}`);
    if (flag) {
      const next = argv[i + 1];
      // A bare `--resume` followed by the config keeps the config positional.
      if (
        next !== undefined &&
        !next.startsWith('-') &&
        (positionals > 0 || /\.safetensors$/.test(next))
      ) {
        out.push(`--${flag}=${next}`);
        i++;
      } else out.push(`--${flag}=`);
      continue;
    }
    if (!a.startsWith('-')) positionals++;
    out.push(a);
  }
  return out;
}

/** A bad command line: reported with the tool's usage text, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Prints `Error: message` on stderr (the stack only with TFDET_DEBUG=1) and
 * returns the exit status: 2 for a {@link UsageError}, whose usage text
 * follows, 1 otherwise. An unknown type name gets a note naming the component
 * folders that failed to load.
 */
export function reportError(e: unknown): number {
  const err = e instanceof Error ? e : new Error(String(e));
  if (process.stdout.isTTY) process.stdout.write('\n');
  if (process.env.TFDET_DEBUG) console.error(err.stack);
  else {
    const note = err.name === 'UnknownTypeError' ? componentLoadNote() : '';
    console.error(`Error: ${err.message}${note}`);
  }
  if (!(err instanceof UsageError)) return 1;
  if (err.usage) console.error(err.usage);
  return 2;
}

/** Reports `e` with {@link reportError} and exits with its status. */
export function fail(e: unknown): never {
  process.exit(reportError(e));
}

/**
 * Runs a tool's `main` and exits, with the status `main` returns (0 when it
 * returns nothing) or through {@link fail}. The exit is explicit: a library
 * worker pool left referenced must not keep a finished run alive.
 */
export function runCli(main: () => Promise<number | void> | number | void): void {
  Promise.resolve()
    .then(main)
    .then((code) => process.exit(code ?? 0), fail);
}
