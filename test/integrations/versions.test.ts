// Which SDK majors these tests ran against: the dev dependencies under Node 20, or the
// newest majors under Node 22 (test/next-majors/run.mjs sets the variable below).
import { VERSION as aiOpenAIVersion, createOpenAI } from '@ai-sdk/openai';
import { VERSION as anthropicVersion } from '@anthropic-ai/sdk/version';
import { wrapLanguageModel } from 'ai';
import { VERSION as openaiVersion } from 'openai/version';
import { describe, expect, it } from 'vitest';
import { createGovernor } from 'agent-governor';
import { governorMiddleware } from 'agent-governor/ai';

const next = process.env.AGENT_GOVERNOR_NEXT_MAJORS;
const major = (v: string): number => Number(v.split('.')[0]);

describe('SDK versions under test', () => {
  it(
    next === undefined ? 'the dev dependencies: openai 6, ai 6 (spec v3), @ai-sdk/openai 3, Node 20+' : `the newest majors: ${next}`,
    () => {
      const model = wrapLanguageModel({ model: createOpenAI({ apiKey: 'x' }).chat('m'), middleware: governorMiddleware(createGovernor()) });
      const loaded = {
        openai: major(openaiVersion),
        aiOpenAI: major(aiOpenAIVersion),
        spec: model.specificationVersion,
        anthropic: major(anthropicVersion),
      };
      if (next === undefined) {
        expect(loaded).toEqual({ openai: 6, aiOpenAI: 3, spec: 'v3', anthropic: 1 });
      } else {
        expect(loaded).toEqual({ openai: 7, aiOpenAI: 4, spec: 'v4', anthropic: 1 });
        expect(major(process.versions.node)).toBe(22);
        expect(next).toContain(`openai@${openaiVersion}`);
      }
    },
  );
});
