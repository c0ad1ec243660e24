import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string): string => fileURLToPath(new URL(`../src/${p}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^agent-governor\/testing$/, replacement: src('testing/index.ts') },
      { find: /^agent-governor\/redis$/, replacement: src('redis/index.ts') },
      { find: /^agent-governor\/openai$/, replacement: src('integrations/openai.ts') },
      { find: /^agent-governor\/anthropic$/, replacement: src('integrations/anthropic.ts') },
      { find: /^agent-governor\/ai$/, replacement: src('integrations/ai.ts') },
      { find: /^agent-governor\/dashboard$/, replacement: src('dashboard/index.ts') },
      { find: /^agent-governor$/, replacement: src('index.ts') },
    ],
  },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    setupFiles: [fileURLToPath(new URL('./setup/fail-on-console.ts', import.meta.url))],
    testTimeout: 20_000,
  },
});
