import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/utils/random.js';

describe('Rng', () => {
  it('is deterministic from the seed and differs across seeds', () => {
    const a = new Rng(42),
      b = new Rng(42),
      c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
  });

  it('restores its state', () => {
    const r = new Rng(7);
    r.next();
    const s = r.getState();
    const x = [r.next(), r.int(0, 100), r.normal()];
    r.setState(s);
    expect([r.next(), r.int(0, 100), r.normal()]).toEqual(x);
  });

  it('draws in range with the right moments', () => {
    const r = new Rng(1);
    const n = 20000;
    let sum = 0,
      sq = 0;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      counts[r.int(2, 8) - 2]++;
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
    for (const c of counts) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.02);
  });

  it('shuffles to a permutation and derives independent streams', () => {
    const p = new Rng(5).permutation(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Rng.derive(0, 1).next()).toBe(Rng.derive(0, 1).next());
    expect(Rng.derive(0, 1).next()).not.toBe(Rng.derive(0, 2).next());
    expect(() => new Rng(0).int(3, 3)).toThrow(/empty range/);
  });
});
