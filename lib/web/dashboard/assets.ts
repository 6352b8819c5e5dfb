/**
 * The page and what it loads, built once when the dashboard starts and kept gzipped: uPlot comes
 * from the installed package (a dependency, resolved at run time, so nothing is copied or fetched
 * from a CDN), the page's own HTML, script and styles from the modules next to this one.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { WhisperError } from '../../errors.js';
import { PAGE_JS } from './page/client.js';
import { pageHtml } from './page/html.js';
import { PAGE_CSS } from './page/style.js';

export interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

function asset(type: string, body: Buffer | string): Asset {
  const raw = Buffer.from(body);
  return { type, body: raw, gzip: gzipSync(raw, { level: 9 }) };
}

function uplotFile(name: string): Buffer {
  try {
    return readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`));
  } catch (e) {
    throw new WhisperError('DEPENDENCY_MISSING', `the dashboard needs the uplot package (${name}): ${(e as Error).message}`, { cause: e });
  }
}

/** Path → asset, for the page that carries `token` in its own requests. */
export function pageAssets(token: string): Map<string, Asset> {
  return new Map([
    ['/', asset('text/html; charset=utf-8', pageHtml(token))],
    ['/app.js', asset('text/javascript; charset=utf-8', PAGE_JS)],
    ['/app.css', asset('text/css; charset=utf-8', PAGE_CSS)],
    ['/uplot.js', asset('text/javascript; charset=utf-8', uplotFile('uPlot.iife.min.js'))],
    ['/uplot.css', asset('text/css; charset=utf-8', uplotFile('uPlot.min.css'))],
  ]);
}
