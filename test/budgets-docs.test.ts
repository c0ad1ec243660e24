// docs/budgets.md's snippets can't rot: its ```ts blocks, in order, make one module (imports
// hoisted, the rest the body of one async function) that must type-check against src/ and
// run to the end. The snippets build on each other, as a reader runs them.
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = join(ROOT, 'docs/budgets.md');

/** The doc's TypeScript blocks as one module exporting `run(console)`. */
function docModule(markdown: string): { source: string; blocks: number } {
  const blocks = [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const imports = new Map<string, Set<string>>();
  const body: string[] = [];
  for (const block of blocks) {
    for (const line of block.split('\n')) {
      const m = /^import \{([^}]*)\} from '([^']+)';$/.exec(line);
      if (m === null) {
        body.push(line);
        continue;
      }
      const names = imports.get(m[2] as string) ?? new Set<string>();
      for (const n of (m[1] as string).split(',')) if (n.trim() !== '') names.add(n.trim());
      imports.set(m[2] as string, names);
    }
  }
  const head = [...imports].map(([from, names]) => `import { ${[...names].join(', ')} } from '${from}';`);
  // The snippets print with console.log; the run hands them a console that records instead.
  const source = [
    ...head,
    'export async function run(console: { log(...args: unknown[]): void }): Promise<void> {',
    ...body.map((l) => `  ${l}`),
    '}',
    '',
  ].join('\n');
  return { source, blocks: blocks.length };
}

const { source, blocks } = docModule(readFileSync(DOC, 'utf8'));

describe('docs/budgets.md', () => {
  it('has TypeScript snippets and no import the harness would miss', () => {
    expect(blocks).toBeGreaterThanOrEqual(10);
    expect(source).not.toMatch(/^\s+import /m);
  });

  it('type-checks its snippets against the package source', () => {
    const file = join(ROOT, 'test/__budgets-doc__.ts');
    const config = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, 'tsconfig.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
    );
    if (config === undefined) throw new Error('tsconfig.json did not parse');
    // Snippets name results for the reader (`const m = ...`) without using them.
    const options = { ...config.options, noUnusedLocals: false, noEmit: true };
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    const exists = host.fileExists.bind(host);
    const get = host.getSourceFile.bind(host);
    host.readFile = (f) => (f === file ? source : read(f));
    host.fileExists = (f) => f === file || exists(f);
    host.getSourceFile = (f, v, ...rest) => (f === file ? ts.createSourceFile(f, source, v) : get(f, v, ...rest));
    const program = ts.createProgram([file], options, host);
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file)
      .map((d) => {
        const line = d.file?.getLineAndCharacterOfPosition(d.start ?? 0).line ?? 0;
        return `${ts.flattenDiagnosticMessageText(d.messageText, '\n')}\n    at: ${source.split('\n')[line]?.trim()}`;
      });
    expect(errors).toEqual([]);
  });

  it('runs its snippets to the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'budgets-doc-'));
    const file = join(dir, 'budgets-doc.ts');
    writeFileSync(file, source);
    try {
      const mod = (await import(file)) as { run(console: { log(...args: unknown[]): void }): Promise<void> };
      const printed: unknown[][] = [];
      await mod.run({ log: (...args) => printed.push(args) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
