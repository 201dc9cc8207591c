/**
 * The Markdown table of a paired comparison (two servers, the same cells, rounds in
 * alternating order): each side's median, their ratio, the median of the rounds' own
 * ratios, and the rounds' ratios.
 */
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Rows of `results` (cell → per-round figures of side a and side b), b against a. */
export function pairedTable(results: Record<string, { a: number[]; b: number[] }>, nameA: string, nameB: string): string[] {
  return [
    `| cell | ${nameA} req/s (median) | ${nameB} req/s (median) | ${nameB} / ${nameA} (medians) | median of per-round ratios | per-round |`,
    '|---|---:|---:|---:|---:|---|',
    ...Object.entries(results).map(([name, r]) => {
      const ratios = r.b.map((x, i) => x / r.a[i]);
      return `| ${name} | ${fmt(median(r.a))} | ${fmt(median(r.b))} | ${(median(r.b) / median(r.a)).toFixed(2)}× | ${median(ratios).toFixed(2)}× | ${ratios.map((x) => x.toFixed(2)).join(', ')} |`;
    }),
  ];
}

/**
 * Runs every cell against server `a` and server `b`, `rounds` times, the order alternating
 * each round (drift and a first-run effect hit both alike); logs each round.
 */
export function runPaired<T>(cells: Record<string, (t: T) => number>, a: T, b: T, rounds: number, names: [string, string]): Record<string, { a: number[]; b: number[] }> {
  const results: Record<string, { a: number[]; b: number[] }> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(cells)) {
      const r = (results[name] ??= { a: [], b: [] });
      for (const side of round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) r[side].push(run(side === 'a' ? a : b));
      console.log(`round ${round + 1} ${name}: ${names[0]} ${r.a.at(-1)}, ${names[1]} ${r.b.at(-1)}`);
    }
  }
  return results;
}
