import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  instantiatePattern,
  parseScopeKey,
  SCOPE_LEVELS,
  scopeKey,
  scopeMatches,
  scopeWithin,
  validateId,
  validateScope,
  WILDCARD,
  type Scope,
} from '../src/core/index.js';
import { invalid } from './helpers.js';

const ID_RULE = 'must be a non-empty string of at most 256 characters without control characters';

describe('constants', () => {
  it('levels run widest first and the wildcard is *', () => {
    expect(SCOPE_LEVELS).toEqual(['workspace', 'project', 'pool', 'agent', 'execution']);
    expect(WILDCARD).toBe('*');
  });
});

describe('validateScope', () => {
  it('returns a frozen copy with the same ids', () => {
    const input = { workspace: 'acme', agent: 'a1' };
    const out = validateScope(input, 'scope', false);
    expect(out).toEqual({ workspace: 'acme', agent: 'a1' });
    expect(out).not.toBe(input);
    expect(Object.isFrozen(out)).toBe(true);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('undefined is the empty scope; undefined ids are skipped', () => {
    const empty = validateScope(undefined, 'scope', false);
    expect(empty).toEqual({});
    expect(Object.isFrozen(empty)).toBe(true);
    expect(validateScope({ workspace: 'acme', agent: undefined }, 'scope', false)).toEqual({ workspace: 'acme' });
    expect(Object.keys(validateScope({ workspace: 'acme', agent: undefined }, 'scope', false))).toEqual(['workspace']);
    // an unknown level holding undefined is skipped too
    expect(validateScope({ team: undefined }, 'scope', false)).toEqual({});
    expect(validateScope({}, 'scope', false)).toEqual({});
  });

  it('accepts every level', () => {
    const all = { workspace: 'w', project: 'p', pool: 'o', agent: 'a', execution: 'e' };
    expect(validateScope(all, 's', false)).toEqual(all);
  });

  it('rejects non-objects, naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'null'],
      ['acme', '"acme"'],
      [42, '42'],
      [['acme'], '["acme"]'],
    ];
    for (const [v, shown] of cases) {
      const e = invalid(() => validateScope(v, 'opts.scope', false));
      expect(e.field).toBe('opts.scope');
      expect(e.value).toBe(v);
      expect(e.message).toBe(
        `invalid_input: opts.scope must be an object with levels workspace, project, pool, agent, execution (got ${shown})`,
      );
    }
  });

  it('an unknown level is an error naming field.level', () => {
    const e = invalid(() => validateScope({ workspace: 'acme', team: 'red' }, 'opts.scope', false));
    expect(e.field).toBe('opts.scope.team');
    expect(e.value).toBe('red');
    expect(e.message).toBe(
      'invalid_input: opts.scope.team is not a scope level (levels: workspace, project, pool, agent, execution) (got "red")',
    );
    expect(invalid(() => validateScope({ Agent: 'a' }, 's', true)).field).toBe('s.Agent');
  });

  it('the wildcard is allowed only when allowWildcard', () => {
    expect(validateScope({ workspace: 'acme', agent: '*' }, 'limit.scope', true)).toEqual({ workspace: 'acme', agent: '*' });
    const e = invalid(() => validateScope({ workspace: 'acme', agent: '*' }, 'scope', false));
    expect(e.field).toBe('scope.agent');
    expect(e.value).toBe('*');
    expect(e.message).toBe('invalid_input: scope.agent must be a concrete id (\'*\' is only allowed where limits are set) (got "*")');
    // only the exact id '*' is the wildcard
    expect(validateScope({ agent: 'a*' }, 'scope', false)).toEqual({ agent: 'a*' });
    expect(validateScope({ agent: '**' }, 'scope', false)).toEqual({ agent: '**' });
  });

  it('rejects an empty id', () => {
    const e = invalid(() => validateScope({ agent: '' }, 'scope', false));
    expect(e.field).toBe('scope.agent');
    expect(e.value).toBe('');
    expect(e.message).toBe(`invalid_input: scope.agent ${ID_RULE} (got "")`);
  });

  it('rejects non-string ids', () => {
    const e = invalid(() => validateScope({ project: 7 }, 'scope', false));
    expect(e.field).toBe('scope.project');
    expect(e.value).toBe(7);
    expect(e.message).toBe(`invalid_input: scope.project ${ID_RULE} (got 7)`);
    expect(invalid(() => validateScope({ project: null }, 'scope', false)).message).toBe(
      `invalid_input: scope.project ${ID_RULE} (got null)`,
    );
  });

  it('rejects control characters (C0 and DEL)', () => {
    for (const id of ['a\nb', 'a\tb', '\u0000', 'x\u001f', 'x\u007f', '\r']) {
      const e = invalid(() => validateScope({ execution: id }, 'scope', false));
      expect(e.field).toBe('scope.execution');
      expect(e.value).toBe(id);
      expect(e.message).toBe(`invalid_input: scope.execution ${ID_RULE} (got ${JSON.stringify(id)})`);
    }
    // printable neighbours are fine
    expect(validateScope({ execution: ' ~' }, 'scope', false)).toEqual({ execution: ' ~' });
  });

  it('accepts 256 characters and rejects 257', () => {
    expect(validateScope({ workspace: 'w'.repeat(256) }, 'scope', false)).toEqual({ workspace: 'w'.repeat(256) });
    const e = invalid(() => validateScope({ workspace: 'w'.repeat(257) }, 'scope', false));
    expect(e.field).toBe('scope.workspace');
    expect(e.value).toBe('w'.repeat(257));
    expect(e.message).toBe(`invalid_input: scope.workspace ${ID_RULE} (got "${'w'.repeat(77)}...")`);
  });

  it('accepts unicode ids and the characters a key escapes', () => {
    const s = { workspace: 'Zürich', project: 'a/b', pool: 'x=y', agent: '100%', execution: 'p|q' };
    expect(validateScope(s, 'scope', false)).toEqual(s);
    expect(validateScope({ agent: '🤖'.repeat(128) }, 'scope', false)).toEqual({ agent: '🤖'.repeat(128) });
  });
});

describe('validateId', () => {
  it('returns a valid id and rejects others naming the field', () => {
    expect(validateId('limit-1', 'limits[0].id')).toBe('limit-1');
    const e = invalid(() => validateId('', 'limits[0].id'));
    expect(e.field).toBe('limits[0].id');
    expect(e.message).toBe(`invalid_input: limits[0].id ${ID_RULE} (got "")`);
    expect(invalid(() => validateId(undefined, 'id')).message).toBe(`invalid_input: id ${ID_RULE} (got undefined)`);
  });
});

describe('scopeKey', () => {
  it("is '' for the empty scope", () => {
    expect(scopeKey({})).toBe('');
  });

  it('always orders workspace, project, pool, agent, execution', () => {
    const reversed: Scope = { execution: 'e', agent: 'a', pool: 'o', project: 'p', workspace: 'w' };
    expect(scopeKey(reversed)).toBe('workspace=w/project=p/pool=o/agent=a/execution=e');
    expect(scopeKey({ agent: 'a1', workspace: 'acme' })).toBe('workspace=acme/agent=a1');
    expect(scopeKey({ workspace: 'acme', agent: 'a1' })).toBe('workspace=acme/agent=a1');
    expect(scopeKey({ execution: 'run-9', project: 'p' })).toBe('project=p/execution=run-9');
    expect(scopeKey({ pool: 'gpu' })).toBe('pool=gpu');
  });

  it("escapes '/', '=', '|' and '%'", () => {
    expect(scopeKey({ workspace: 'a/b' })).toBe('workspace=a%2Fb');
    expect(scopeKey({ workspace: 'a=b' })).toBe('workspace=a%3Db');
    expect(scopeKey({ workspace: 'a|b' })).toBe('workspace=a%7Cb');
    expect(scopeKey({ workspace: '100%' })).toBe('workspace=100%25');
    expect(scopeKey({ workspace: 'a/b=c|d%e', agent: '%2F' })).toBe('workspace=a%2Fb%3Dc%7Cd%25e/agent=%252F');
    // nothing else is touched
    expect(scopeKey({ agent: 'Zürich ?&#+:' })).toBe('agent=Zürich ?&#+:');
  });

  it('keys of different scopes differ even when ids contain separators', () => {
    expect(scopeKey({ workspace: 'a/agent=b' })).not.toBe(scopeKey({ workspace: 'a', agent: 'b' }));
    expect(scopeKey({ workspace: 'a/agent=b' })).toBe('workspace=a%2Fagent%3Db');
  });
});

describe('parseScopeKey', () => {
  it('parses keys back', () => {
    expect(parseScopeKey('')).toEqual({});
    expect(Object.isFrozen(parseScopeKey(''))).toBe(true);
    const s = parseScopeKey('workspace=acme/agent=a1');
    expect(s).toEqual({ workspace: 'acme', agent: 'a1' });
    expect(Object.isFrozen(s)).toBe(true);
    expect(parseScopeKey('workspace=a%2Fb%3Dc%7Cd%25e/agent=%252F')).toEqual({ workspace: 'a/b=c|d%e', agent: '%2F' });
  });

  it('round-trips a scope with every level, in canonical order', () => {
    const s: Scope = { execution: 'e/1', agent: 'a=1', pool: 'p|1', project: '%1', workspace: 'w' };
    const back = parseScopeKey(scopeKey(s));
    expect(back).toEqual(s);
    expect(Object.keys(back)).toEqual(['workspace', 'project', 'pool', 'agent', 'execution']);
  });

  const levelIds = (id: fc.Arbitrary<string>): fc.Arbitrary<Scope> =>
    fc.record({ workspace: id, project: id, pool: id, agent: id, execution: id }, { requiredKeys: [] });

  it('parseScopeKey(scopeKey(s)) equals s for arbitrary ids', () => {
    const anyId = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(levelIds(anyId), (s) => {
        expect(parseScopeKey(scopeKey(s))).toEqual(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips ids made of separators and escape-like sequences', () => {
    const tricky = fc.string({
      unit: fc.constantFrom('%', '/', '=', '|', '2', '5', 'F', 'C', '3', 'D', '7', 'a'),
      minLength: 1,
      maxLength: 20,
    });
    fc.assert(
      fc.property(levelIds(tricky), (s) => {
        const key = scopeKey(s);
        expect(parseScopeKey(key)).toEqual(s);
        // the key splits into exactly one part per level
        expect(key === '' ? 0 : key.split('/').length).toBe(Object.keys(s).length);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('scopeMatches and scopeWithin', () => {
  const call: Scope = { workspace: 'acme', project: 'web', agent: 'a1', execution: 'x9' };

  it('the empty pattern matches every scope', () => {
    expect(scopeMatches({}, call)).toBe(true);
    expect(scopeMatches({}, {})).toBe(true);
  });

  it('every level of the pattern must be present and equal', () => {
    expect(scopeMatches({ workspace: 'acme' }, call)).toBe(true);
    expect(scopeMatches({ workspace: 'acme', agent: 'a1' }, call)).toBe(true);
    expect(scopeMatches(call, call)).toBe(true);
    expect(scopeMatches({ workspace: 'other' }, call)).toBe(false);
    expect(scopeMatches({ workspace: 'acme', agent: 'a2' }, call)).toBe(false);
    expect(scopeMatches({ pool: 'gpu' }, call)).toBe(false);
    expect(scopeMatches({ workspace: 'acme' }, {})).toBe(false);
    expect(scopeMatches({ workspace: 'Acme' }, call)).toBe(false);
  });

  it('a wildcard needs the level present, any id', () => {
    expect(scopeMatches({ agent: '*' }, call)).toBe(true);
    expect(scopeMatches({ workspace: 'acme', agent: '*' }, call)).toBe(true);
    expect(scopeMatches({ workspace: 'other', agent: '*' }, call)).toBe(false);
    expect(scopeMatches({ pool: '*' }, call)).toBe(false);
    expect(scopeMatches({ agent: '*' }, { workspace: 'acme' })).toBe(false);
  });

  it('scopeWithin(inner, outer) is scopeMatches(outer, inner)', () => {
    expect(scopeWithin(call, { workspace: 'acme' })).toBe(true);
    expect(scopeWithin({ workspace: 'acme' }, call)).toBe(false);
    expect(scopeWithin(call, {})).toBe(true);
    expect(scopeWithin({}, {})).toBe(true);
  });
});

describe('instantiatePattern', () => {
  it('replaces wildcards with the ids of the scope and keeps only the levels of the pattern', () => {
    const scope: Scope = { workspace: 'acme', project: 'web', agent: 'a7', execution: 'x1' };
    const inst = instantiatePattern({ workspace: 'acme', agent: '*' }, scope);
    expect(inst).toEqual({ workspace: 'acme', agent: 'a7' });
    expect(scopeKey(inst)).toBe('workspace=acme/agent=a7');
    expect(instantiatePattern({ agent: '*', execution: '*' }, scope)).toEqual({ agent: 'a7', execution: 'x1' });
    expect(instantiatePattern({ workspace: '*' }, scope)).toEqual({ workspace: 'acme' });
  });

  it('a pattern without wildcards comes back equal; the empty pattern gives the empty scope', () => {
    expect(instantiatePattern({ workspace: 'acme', project: 'web' }, { workspace: 'acme', project: 'web', agent: 'a' })).toEqual({
      workspace: 'acme',
      project: 'web',
    });
    expect(instantiatePattern({}, { workspace: 'acme' })).toEqual({});
  });

  it('orders the result canonically whatever the pattern key order', () => {
    const inst = instantiatePattern({ agent: '*', workspace: 'acme' }, { workspace: 'acme', agent: 'a7' });
    expect(Object.keys(inst)).toEqual(['workspace', 'agent']);
  });

  it('gives distinct counters per wildcard id', () => {
    const pattern = validateScope({ workspace: 'acme', agent: '*' }, 'limit.scope', true);
    expect(scopeKey(instantiatePattern(pattern, { workspace: 'acme', agent: 'a1' }))).toBe('workspace=acme/agent=a1');
    expect(scopeKey(instantiatePattern(pattern, { workspace: 'acme', agent: 'a2', execution: 'e' }))).toBe('workspace=acme/agent=a2');
  });
});
