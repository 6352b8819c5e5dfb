/**
 * The charts' axis logic, as plain functions that the page's script embeds (their source is put into
 * PAGE_JS as it is) and the unit tests call: a y range that starts at 0, and tick labels with as many
 * decimals as the ticks need, so that no two read the same ("4.5", "4.5" under a range of 4.4–4.55).
 * Only what a browser runs without a library: no imports, no closures over this module.
 */

/** uPlot's y range: from 0 (or the lowest value, when below 0) to a tenth above the highest; [0, 1] for no data. */
export function zeroRange(_u: unknown, min: number | null, max: number | null): [number, number] {
  const hi = max == null || !Number.isFinite(max) || max <= 0 ? 1 : max * 1.1;
  const lo = min != null && Number.isFinite(min) && min < 0 ? min * 1.1 : 0;
  return [lo, hi];
}

/** uPlot's tick labels: every split with the fewest decimals (up to 6) that show each exactly; no thousands separators. */
export function tickLabels(_u: unknown, splits: Array<number | null>): string[] {
  let decimals = 0;
  for (const v of splits) {
    if (v == null || !Number.isFinite(v)) continue;
    let d = 0;
    while (d < 6 && Math.abs(Number(v.toFixed(d)) - v) > Math.abs(v) * 1e-9 + 1e-12) d++;
    if (d > decimals) decimals = d;
  }
  return splits.map((v) => (v == null || !Number.isFinite(v) ? '' : v.toFixed(decimals)));
}
