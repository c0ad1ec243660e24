// The reference pages can't fall behind the code: every code of the GovernorErrorCode union
// must be documented in docs/errors.md (and say what a caller should do), and every event of
// GovernorEvents must have its own section in docs/events.md. Both lists are read from the
// source text, so a new code or event fails here until it is documented.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (p: string): string => readFileSync(fileURLToPath(new URL(`../${p}`, import.meta.url)), 'utf8');

/** The string literals of `export type GovernorErrorCode = | 'a' | 'b' ...;`. */
function errorCodes(source: string): string[] {
  const m = /export type GovernorErrorCode\s*=([^;]*);/.exec(source);
  if (m === null) throw new Error('GovernorErrorCode not found in src/core/errors.ts');
  return [...(m[1] as string).matchAll(/'([a-z_]+)'/g)].map((x) => x[1] as string);
}

/** The property names of `export interface GovernorEvents { ... }`, quoted or not; comments skipped. */
function eventNames(source: string): string[] {
  const m = /export interface GovernorEvents\s*\{([\s\S]*?)\n\}/.exec(source);
  if (m === null) throw new Error('GovernorEvents not found in src/engine/events.ts');
  const body = (m[1] as string).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  return [...body.matchAll(/^\s*'?([A-Za-z][\w.]*)'?\s*:/gm)].map((x) => x[1] as string);
}

/** The text of the `## title` section (up to the next `## ` heading). */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`section "## ${title}" not found`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

describe('the source parsers', () => {
  it('read the union and the event map as written', () => {
    expect(errorCodes("export type GovernorErrorCode =\n  | 'invalid_input'\n  | 'unknown_model';\nexport class X {}")).toEqual([
      'invalid_input',
      'unknown_model',
    ]);
    expect(
      eventNames(
        "export interface GovernorEvents {\n  usage: UsageEvent;\n  /** a: b */\n  'budget.alert': BudgetAlert;\n  // c: d\n  'pricing.warning': P;\n}\n",
      ),
    ).toEqual(['usage', 'budget.alert', 'pricing.warning']);
  });

  it('find every code and event of the source (so the checks below are not vacuous)', () => {
    const codes = errorCodes(read('src/core/errors.ts'));
    const events = eventNames(read('src/engine/events.ts'));
    expect(codes).toContain('budget_exceeded');
    expect(codes).toContain('unknown_model');
    expect(codes.length).toBeGreaterThanOrEqual(18);
    expect(events).toContain('usage');
    expect(events).toContain('pricing.warning');
    expect(events.length).toBeGreaterThanOrEqual(12);
  });
});

describe('docs/errors.md', () => {
  const doc = read('docs/errors.md');
  const advice = section(doc, 'What the caller should do');

  it.each(errorCodes(read('src/core/errors.ts')))('documents %s and what a caller should do about it', (code) => {
    expect(doc.replace(advice, ''), `docs/errors.md describes \`${code}\` outside the advice table`).toContain(`\`${code}\``);
    expect(advice, `"What the caller should do" has a row for \`${code}\``).toContain(`\`${code}\``);
  });
});

describe('docs/events.md', () => {
  const doc = read('docs/events.md');
  const headings = [...doc.matchAll(/^## (.+)$/gm)].flatMap((m) => (m[1] as string).split(',').map((s) => s.trim()));

  it.each(eventNames(read('src/engine/events.ts')))('has a section for %s, listed in the overview table', (event) => {
    expect(headings, `docs/events.md has a "## ${event}" heading`).toContain(event);
    expect(doc.slice(0, doc.indexOf('\n## ')), `the overview table lists \`${event}\``).toContain(`\`${event}\``);
  });
});
