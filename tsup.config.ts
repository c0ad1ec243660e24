import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';

const require = createRequire(import.meta.url);

/**
 * Inline the dashboard page's assets: src/dashboard/assets.ts reads uPlot (a devDependency)
 * and the client files from disk when run from source; in the package it becomes a module of
 * string constants, so the shipped page needs no CDN, no file read and no runtime dependency.
 */
const inlineDashboardAssets: Plugin = {
  name: 'inline-dashboard-assets',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]dashboard[\\/]assets\.ts$/ }, () => {
      const read = (p: string): string => readFileSync(require.resolve(p), 'utf8');
      const assets = {
        uplotJs: read('uplot/dist/uPlot.iife.min.js'),
        uplotCss: read('uplot/dist/uPlot.min.css'),
        appJs: read('./src/dashboard/client/app.js'),
        appCss: read('./src/dashboard/client/app.css'),
      };
      return {
        loader: 'ts',
        contents: `const ASSETS = ${JSON.stringify(assets)};\nexport function pageAssets() { return ASSETS; }\n`,
      };
    });
  },
};

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    // One entry point per SDK integration; none imports its SDK (each is an optional peer dependency).
    openai: 'src/integrations/openai.ts',
    anthropic: 'src/integrations/anthropic.ts',
    ai: 'src/integrations/ai.ts',
    redis: 'src/redis/index.ts',
    dashboard: 'src/dashboard/index.ts',
    cli: 'src/cli/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  treeshake: true,
  // p-queue is ESM-only: bundle it into the CommonJS build so `require` works.
  noExternal: ['p-queue'],
  esbuildPlugins: [inlineDashboardAssets],
});
