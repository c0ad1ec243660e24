/**
 * The page's assets: uPlot's script and stylesheet and the dashboard's own client code.
 * The package build (tsup.config.ts) replaces this module with the files' text inlined as
 * strings, so the shipped package reads no file and needs no CDN; run from source (tests,
 * tsx), it reads them from disk once.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The texts inlined into every page. */
export interface PageAssets {
  readonly uplotJs: string;
  readonly uplotCss: string;
  readonly appJs: string;
  readonly appCss: string;
}

let cached: PageAssets | undefined;

/** The page's assets (read once). */
export function pageAssets(): PageAssets {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const read = (spec: string): string => readFileSync(require.resolve(spec), 'utf8');
  cached = {
    uplotJs: read('uplot/dist/uPlot.iife.min.js'),
    uplotCss: read('uplot/dist/uPlot.min.css'),
    appJs: read('./client/app.js'),
    appCss: read('./client/app.css'),
  };
  return cached;
}
