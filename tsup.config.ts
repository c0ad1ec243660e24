import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    // One entry point per SDK integration; none imports its SDK (each is an optional peer dependency).
    openai: 'src/integrations/openai.ts',
    anthropic: 'src/integrations/anthropic.ts',
    ai: 'src/integrations/ai.ts',
    redis: 'src/redis/index.ts',
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
});
