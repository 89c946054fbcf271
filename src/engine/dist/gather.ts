/**
 * Gathering what the ranks evaluated (mmengine's `collect_results`): each
 * rank's per-sample results, of any size, to every rank, and the merge of the
 * shards back into the data set's order.
 */
import type { Collective } from './collective.js';

/**
 * Characters of JSON per rank and round. allGather writes each chunk as a
 * JSON string, at most 6 bytes per character (`\u0000`), so a round stays
 * within the shared-memory collective's default 1 MiB per rank.
 */
const CHUNK_CHARS = 1 << 17;

/**
 * Every rank's `value` (JSON-serialisable, any size), in rank order, on every
 * rank: the JSON text goes through {@link Collective.allGather} in chunks, as
 * many rounds as the longest rank needs. Every rank must call it.
 */
export function allGatherLarge<T>(c: Collective, value: T): T[] {
  if (c.worldSize === 1) return [value];
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined)
    throw new TypeError(`allGatherLarge: rank ${c.rank}'s value is not JSON-serialisable`);
  const parts: string[][] = Array.from({ length: c.worldSize }, () => []);
  for (let at = 0; ; at += CHUNK_CHARS) {
    const chunk = text.slice(at, at + CHUNK_CHARS);
    const round = c.allGather<{ s: string; more: boolean }>({
      s: chunk,
      more: at + CHUNK_CHARS < text.length,
    });
    round.forEach((p, r) => parts[r].push(p.s));
    if (!round.some((p) => p.more)) break;
  }
  return parts.map((p) => JSON.parse(p.join('')) as T);
}

/**
 * The shards' per-sample lists back in the order of the data set: rank `r`'s
 * `j`-th entry is sample position `j * worldSize + r` (the shards of
 * `shardOrder`), and the entries past `length` (the padding that gave every
 * rank as many samples) are dropped.
 *
 * @example
 * ```ts
 * mergeShards([[0, 2, 4], [1, 3, 0]], 5); // => [0, 1, 2, 3, 4]
 * ```
 */
export function mergeShards<T>(shards: readonly (readonly T[])[], length: number): T[] {
  const w = shards.length;
  const out: T[] = [];
  for (let p = 0; p < length; p++) {
    const shard = shards[p % w];
    const j = Math.floor(p / w);
    if (j >= shard.length)
      throw new RangeError(
        `mergeShards: rank ${p % w} has ${shard.length} results, sample position ${p} needs ${j + 1}`,
      );
    out.push(shard[j]);
  }
  return out;
}
