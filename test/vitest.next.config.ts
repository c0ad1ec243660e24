// The integration tests again, under Node 22 with the newest SDK majors from .next-majors/
// (see scripts/test-next-majors.mjs): every SDK import resolves there instead of node_modules/.
import { fileURLToPath } from 'node:url';
import { defineConfig, type ViteUserConfig } from 'vitest/config';
import base from './vitest.config.js';

const next = (p: string): string => fileURLToPath(new URL(`../.next-majors/node_modules/${p}`, import.meta.url));
const sdk = (name: string) => ({ find: new RegExp(`^${name.replace('/', '\\/')}(\\/.*)?$`), replacement: `${next(name)}$1` });
const b = base as ViteUserConfig;

export default defineConfig({
  ...b,
  resolve: {
    alias: [
      ...['openai', '@anthropic-ai/sdk', 'ai', '@ai-sdk/openai', '@ai-sdk/anthropic', '@ai-sdk/provider'].map(sdk),
      ...((b.resolve?.alias ?? []) as { find: RegExp; replacement: string }[]),
    ],
  },
  test: { ...b.test, include: ['test/integrations/*.test.ts'] },
});
