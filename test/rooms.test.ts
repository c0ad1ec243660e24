// The room import rules of DESIGN.md, checked on the source: each room imports only the
// rooms it may, and only through their index.ts; nothing imports governor.ts but the entry.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

const MAY_IMPORT: Record<string, { rooms: string[]; packages: string[] }> = {
  core: { rooms: [], packages: ['zod', 'eventemitter3'] },
  storage: { rooms: ['core'], packages: [] },
  costs: {
    rooms: ['core'],
    packages: ['@pydantic/genai-prices', 'gpt-tokenizer/encoding/o200k_base', 'gpt-tokenizer/encoding/cl100k_base'],
  },
  // The engine names the budgets room's event and service-level types (like the breakers' events).
  engine: { rooms: ['core', 'storage', 'costs', 'breakers', 'budgets'], packages: ['zod'] },
  ratelimit: { rooms: ['core', 'storage'], packages: ['zod', 'p-queue'] },
  breakers: { rooms: ['core', 'storage'], packages: ['zod'] },
  budgets: { rooms: ['core', 'storage'], packages: ['zod'] },
  tracker: { rooms: ['core', 'storage'], packages: ['zod'] },
  testing: { rooms: ['core', 'storage'], packages: ['node:assert/strict'] },
  redis: { rooms: ['core', 'storage'], packages: ['node:crypto'] },
  // Each SDK integration is its own entry point; it imports no SDK, only the governor's public types.
  integrations: { rooms: ['core'], packages: ['zod'] },
  analytics: { rooms: ['core', 'storage'], packages: ['zod'] },
  // The dashboard is its own entry point (node:http); node:fs and node:module only in assets.ts, which the build inlines.
  dashboard: {
    rooms: ['core', 'storage', 'analytics'],
    packages: ['zod', 'node:http', 'node:crypto', 'node:net', 'node:fs', 'node:module'],
  },
  // The command line: an entry point of its own, so it may take values from the package entry.
  cli: { rooms: ['redis', 'dashboard'], packages: ['commander', 'node:fs'] },
};

/** Rooms that may name the package's public entry (`../index.js`), for types only. */
const TYPES_FROM_ENTRY: ReadonlySet<string> = new Set(['integrations', 'dashboard']);
/** Entry points that may import values from the package's public entry. */
const VALUES_FROM_ENTRY: ReadonlySet<string> = new Set(['cli']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] as string);
}

/** True when every import of `spec` in `file` is `import type`. */
function typeOnly(file: string, spec: string): boolean {
  const text = readFileSync(file, 'utf8');
  const all = [...text.matchAll(/^(import|export)(\s+type)?\s[^;]*?from\s+'([^']+)'/gms)].filter((m) => m[3] === spec);
  return all.every((m) => m[2] !== undefined);
}

describe('room import rules', () => {
  for (const [room, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${room}/ imports only ${[...allowed.rooms, ...allowed.packages, 'decimal.js'].join(', ')}`, () => {
      const bad: string[] = [];
      for (const file of files(join(SRC, room))) {
        for (const spec of imports(file)) {
          const where = relative(SRC, file);
          if (spec.startsWith('./')) continue;
          if (spec === '../index.js' && VALUES_FROM_ENTRY.has(room)) continue;
          if (spec === '../index.js' && TYPES_FROM_ENTRY.has(room)) {
            if (!typeOnly(file, spec)) bad.push(`${where} imports values from ${spec} (types only)`);
            continue;
          }
          const m = /^\.\.\/([\w-]+)\/(.+)$/.exec(spec);
          if (m) {
            if (!allowed.rooms.includes(m[1] as string)) bad.push(`${where} imports room ${m[1]}`);
            else if (m[2] !== 'index.js') bad.push(`${where} imports ${spec} instead of the room's index.js`);
            continue;
          }
          if (spec.startsWith('..')) bad.push(`${where} imports ${spec}`);
          // decimal.js is the money type of the whole API, so every room may name it.
          else if (spec !== 'decimal.js' && !allowed.packages.includes(spec)) bad.push(`${where} imports package ${spec}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it('only the entry points import governor.ts', () => {
    const importers = files(SRC)
      .filter((f) => imports(f).some((s) => s.endsWith('governor.js')))
      .map((f) => relative(SRC, f));
    expect(importers).toEqual(['index.ts']);
  });

  it('no room imports the dashboard (the governor loads its report renderer on first use)', () => {
    const importers = files(SRC)
      .filter((f) => imports(f).some((s) => s.includes('dashboard/')))
      .map((f) => relative(SRC, f));
    expect(importers).toEqual(['cli/program.ts']);
    expect(readFileSync(join(SRC, 'governor.ts'), 'utf8')).toContain("import('./dashboard/report.js')");
  });

  it('no integration imports an SDK (each is an optional peer dependency)', () => {
    const sdks = /^(openai|ai|@anthropic-ai\/|@ai-sdk\/)/;
    const bad = files(join(SRC, 'integrations')).flatMap((f) =>
      imports(f)
        .filter((s) => sdks.test(s))
        .map((s) => `${relative(SRC, f)}: ${s}`),
    );
    expect(bad).toEqual([]);
  });
});
