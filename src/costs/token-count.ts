/**
 * Counting input tokens before a call, as an upper bound. OpenAI model families are
 * counted with their real tokenizer, `gpt-tokenizer`, an optional peer dependency loaded
 * on first use; everything else (and OpenAI when the package is not installed) is bounded
 * by the text's UTF-8 byte count: byte-level BPE tokenizers (GPT, Claude, Llama, Mistral's
 * Tekken) and SentencePiece with byte fallback (Gemini) never make a token of less than
 * one byte, so bytes ≥ tokens whatever the language.
 */
import { InvalidInputError } from '../core/index.js';

/** A chat message whose tokens are counted. Non-text parts (images, audio) cannot be bounded: pass `inputTokens` for those. */
export interface EstimateMessage {
  readonly role: string;
  readonly content: string | null | readonly { readonly type: string; readonly text?: string }[];
  readonly name?: string | undefined;
}

/** Which counter produced a count. */
export type TokenCounterName = 'o200k_base' | 'cl100k_base' | 'utf8-bytes';

/** Tokens a message costs beyond its text (OpenAI: 3 for the framing, 1 for a name; we count 4 and the role's text). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens that prime the reply (OpenAI: 3). */
export const REPLY_PRIMING_TOKENS = 3;

/** The OpenAI encoding of a model family, or undefined when no real tokenizer is known. */
export function encodingFor(model: string): 'o200k_base' | 'cl100k_base' | undefined {
  const m = model.toLowerCase().replace(/^(openai|azure)[/:]/, '');
  if (/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4)/.test(m)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5|gpt-35)/.test(m)) return 'cl100k_base';
  return undefined;
}

type Count = (text: string) => number;
const loaded = new Map<string, Promise<Count | undefined>>();

/** Load `gpt-tokenizer`'s encoding lazily; undefined when the optional package is absent. */
export function loadCounter(encoding: 'o200k_base' | 'cl100k_base'): Promise<Count | undefined> {
  let p = loaded.get(encoding);
  if (p === undefined) {
    const load = encoding === 'o200k_base' ? import('gpt-tokenizer/encoding/o200k_base') : import('gpt-tokenizer/encoding/cl100k_base');
    p = load.then(
      (m) => (text: string) => m.countTokens(text),
      () => undefined,
    );
    loaded.set(encoding, p);
  }
  return p;
}

const encoder = new TextEncoder();
const bytes: Count = (text) => encoder.encode(text).length;

function textOf(m: EstimateMessage, field: string): string[] {
  if (m === null || typeof m !== 'object') throw new InvalidInputError(field, 'must be a message object', m);
  if (typeof m.role !== 'string') throw new InvalidInputError(`${field}.role`, 'must be a string', m.role);
  const out = [m.role];
  if (m.name !== undefined) out.push(m.name);
  const c = m.content;
  if (typeof c === 'string') out.push(c);
  else if (Array.isArray(c)) {
    c.forEach((part: { type: string; text?: string }, j: number) => {
      if (part?.type !== 'text' || typeof part.text !== 'string')
        throw new InvalidInputError(`${field}.content[${j}]`, 'is not a text part; pass inputTokens for non-text input', part?.type);
      out.push(part.text);
    });
  } else if (c !== null) throw new InvalidInputError(`${field}.content`, 'must be a string, null or an array of text parts', c);
  return out;
}

/** An upper bound on the input tokens of `messages` (or of a plain text) for `model`. */
export async function countInputTokens(
  model: string,
  input: string | readonly EstimateMessage[],
  field: string,
): Promise<{ tokens: number; counter: TokenCounterName }> {
  const enc = encodingFor(model);
  const real = enc === undefined ? undefined : await loadCounter(enc);
  const count = real ?? bytes;
  const counter: TokenCounterName = real === undefined ? 'utf8-bytes' : (enc as TokenCounterName);
  if (typeof input === 'string') return { tokens: count(input), counter };
  if (!Array.isArray(input)) throw new InvalidInputError(field, 'must be an array of messages', input);
  let tokens = REPLY_PRIMING_TOKENS;
  input.forEach((m: EstimateMessage, i: number) => {
    tokens += MESSAGE_OVERHEAD_TOKENS;
    for (const t of textOf(m, `${field}[${i}]`)) tokens += count(t);
  });
  return { tokens, counter };
}
