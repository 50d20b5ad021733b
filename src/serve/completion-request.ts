// The body of POST /v1/completions, checked field by field against OpenAI's contract. What this
// server cannot honour (n > 1, echo, logprobs, suffix, penalties, logit_bias) is refused with 400
// naming the field, never silently ignored.
import { badRequest } from './errors.js';

export interface CompletionRequest {
  model: string;
  prompts: string[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number | null;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
}

export interface CompletionLimits {
  maxPromptChars: number;
  maxTokensLimit: number;
  /** Most prompts in one request (the queue bound). */
  maxPrompts: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseCompletionRequest(body: unknown, lim: CompletionLimits): CompletionRequest {
  if (!isObj(body)) throw badRequest('expected a JSON object body');
  const { model, prompt } = body;
  if (typeof model !== 'string' || model === '') throw badRequest('model: required, a model id from GET /v1/models', 'model');
  let prompts: string[];
  if (typeof prompt === 'string') prompts = [prompt];
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string')) prompts = prompt as string[];
  else throw badRequest('prompt: expected a string or a non-empty array of strings (token arrays are not supported)', 'prompt');
  if (prompts.length > lim.maxPrompts)
    throw badRequest(`prompt: ${prompts.length} prompts, at most ${lim.maxPrompts} per request`, 'prompt');
  for (const p of prompts) {
    if (p.length === 0) throw badRequest('prompt: empty prompt', 'prompt');
    if (p.length > lim.maxPromptChars) throw badRequest(`prompt: ${p.length} characters, at most ${lim.maxPromptChars}`, 'prompt');
  }
  const num = (field: string, dflt: number, min: number, max: number, integer: boolean): number => {
    const v = body[field];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      throw badRequest(`${field}: expected ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(v)}`, field);
    }
    return v;
  };
  const maxTokens = num('max_tokens', 16, 1, lim.maxTokensLimit, true);
  const temperature = num('temperature', 1, 0, 2, false);
  const topP = num('top_p', 1, Number.MIN_VALUE, 1, false);
  const seedV = body.seed;
  if (seedV !== undefined && seedV !== null && (typeof seedV !== 'number' || !Number.isSafeInteger(seedV))) {
    throw badRequest(`seed: expected an integer, got ${JSON.stringify(seedV)}`, 'seed');
  }
  let stop: string[] = [];
  if (typeof body.stop === 'string') stop = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length <= 4 && body.stop.every((s) => typeof s === 'string')) stop = body.stop as string[];
  else if (body.stop !== undefined && body.stop !== null) throw badRequest('stop: expected a string or up to 4 strings', 'stop');
  if (stop.some((s) => s === '')) throw badRequest('stop: empty stop string', 'stop');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
    throw badRequest('stream: expected a boolean', 'stream');
  const so = body.stream_options;
  if (so !== undefined && so !== null && !isObj(so)) throw badRequest('stream_options: expected an object', 'stream_options');
  const unsupported: [string, (v: unknown) => boolean][] = [
    ['n', (v) => v === 1],
    ['best_of', (v) => v === 1],
    ['echo', (v) => v === false],
    ['logprobs', () => false],
    ['suffix', (v) => v === ''],
    ['presence_penalty', (v) => v === 0],
    ['frequency_penalty', (v) => v === 0],
    ['logit_bias', (v) => isObj(v) && Object.keys(v).length === 0],
  ];
  for (const [field, fine] of unsupported) {
    const v = body[field];
    if (v !== undefined && v !== null && !fine(v))
      throw badRequest(`${field}: not supported by this server (got ${JSON.stringify(v)})`, field);
  }
  return {
    model,
    prompts,
    maxTokens,
    temperature,
    topP,
    seed: typeof seedV === 'number' ? seedV : null,
    stop,
    stream: body.stream === true,
    includeUsage: isObj(so) && so.include_usage === true,
  };
}
