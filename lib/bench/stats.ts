/** The benchmark's statistics are the metrics layer's. */
export { fmt, percentile, type Summary, summarize } from '../metrics/stats.js';
