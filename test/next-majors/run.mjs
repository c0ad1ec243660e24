// Run the integration tests under Node 22 against the newest SDK majors (openai 7, ai 7,
// @ai-sdk/* 4), which need Node 22 while this package supports Node 20. They are installed
// once into .next-majors/ (git-ignored; reinstalled only when test/next-majors/next-majors.json
// changes), and the tests resolve the SDKs from there (test/vitest.next.config.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, '.next-majors');
const spec = readFileSync(join(root, 'test/next-majors/next-majors.json'), 'utf8');
const stamp = join(dir, '.installed-from');
const node = join(dir, 'node_modules/.bin/node');

const say = (s) => process.stdout.write(`[next-majors] ${s}\n`);

if (existsSync(node) && existsSync(stamp) && readFileSync(stamp, 'utf8') === spec) {
  say('using the cached install in .next-majors/');
} else {
  say('installing Node 22 and the newest SDK majors into .next-majors/ ...');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), spec);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
  writeFileSync(stamp, spec);
}

const version = (p) => JSON.parse(readFileSync(join(dir, 'node_modules', p, 'package.json'), 'utf8')).version;
const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
const sdks = ['openai', '@anthropic-ai/sdk', 'ai', '@ai-sdk/openai', '@ai-sdk/anthropic'].map((p) => `${p}@${version(p)}`);
say(`running test/integrations/*.test.ts under Node ${nodeVersion} with ${sdks.join(', ')}`);
try {
  execFileSync(node, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/vitest.next.config.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, AGENT_GOVERNOR_NEXT_MAJORS: sdks.join(',') },
  });
} catch {
  say('FAILED under the newest majors');
  process.exit(1);
}
say('passed under the newest majors');
