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
  costs: { rooms: ['core'], packages: [] },
  engine: { rooms: ['core', 'storage', 'costs', 'breakers'], packages: ['zod'] },
  ratelimit: { rooms: ['core', 'storage'], packages: ['zod', 'p-queue'] },
  breakers: { rooms: ['core', 'storage'], packages: ['zod'] },
  testing: { rooms: ['core', 'storage'], packages: ['node:assert/strict'] },
  analytics: { rooms: ['core', 'storage'], packages: ['zod'] },
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? files(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] as string);
}

describe('room import rules', () => {
  for (const [room, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${room}/ imports only ${[...allowed.rooms, ...allowed.packages, 'decimal.js'].join(', ')}`, () => {
      const bad: string[] = [];
      for (const file of files(join(SRC, room))) {
        for (const spec of imports(file)) {
          const where = relative(SRC, file);
          if (spec.startsWith('./')) continue;
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
});
