/**
 * Shared helpers of the tools' command lines: argument pre-processing
 * (mmengine-style `--cfg-options a=1 b=2` and an optional value after
 * `--resume`) and error printing without stack traces.
 */

/**
 * Rewrites `--cfg-options a=1 b=2` into repeated `--cfg-options=a=1
 * --cfg-options=b=2` for node:util parseArgs, and an optional value of
 * `flag` (`--resume [CKPT]`) into `--flag=CKPT`.
 */
export function preprocessArgv(argv: string[], optionalValueFlags: string[] = []): string[] {
  const out: string[] = [];
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--cfg-options') {
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--') && argv[i + 1]!.includes('='))
        out.push(`--cfg-options=${argv[++i]}`);
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

/** Prints `Error: message` (the stack only with TFDET_DEBUG=1) and exits 1. */
export function fail(e: unknown): never {
  const err = e instanceof Error ? e : new Error(String(e));
  if (process.stdout.isTTY) process.stdout.write('\n');
  if (process.env.TFDET_DEBUG) console.error(err.stack);
  else console.error(`Error: ${err.message}`);
  process.exit(1);
}
