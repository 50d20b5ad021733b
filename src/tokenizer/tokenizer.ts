// A thin wrapper over @huggingface/tokenizers: load tokenizer.json (and tokenizer_config.json beside
// it), encode without implicit special tokens, decode exactly (no clean-up of spaces), and resolve the
// special-token ids the trainer and generator need.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { checkTokenizerJson } from './check-json.js';

export interface TextTokenizer {
  /** Where the tokenizer came from (for messages). */
  readonly source: string;
  /** One more than the largest id, added tokens included. */
  readonly vocabSize: number;
  readonly eosId: number;
  readonly bosId?: number;
  /** Padding id: the pad token when there is one, else eosId. */
  readonly padId: number;
  /** Token ids of `text`; special tokens (BOS, ...) only when asked for. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Exact inverse of encode for byte-level tokenizers; special tokens kept unless skipped. */
  decode(ids: ArrayLike<number>, opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

export interface LoadTokenizerOptions {
  /** Override the end-of-sequence token (content string). */
  eosToken?: string;
  bosToken?: string;
  padToken?: string;
}

const EOS_CANDIDATES = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>', '<|eos|>', '<|im_end|>'];
const BOS_CANDIDATES = ['<s>', '<|begin_of_text|>', '<bos>', '<|bos|>'];
const PROBE_TEXT = 'def f(x):\n    return x + 1\n';
const PAD_CANDIDATES = ['<pad>', '<|pad|>', '<|padding|>', '[PAD]'];

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`tokenizer: cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`tokenizer: ${file} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Build a tokenizer from parsed tokenizer.json (and optional tokenizer_config.json) objects.
 * `source` names the file in errors.
 */
export function tokenizerFromJson(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  source: string,
  opts: LoadTokenizerOptions = {},
): TextTokenizer {
  if (typeof tokenizerJson !== 'object' || tokenizerJson === null || Array.isArray(tokenizerJson)) {
    throw new Error(`tokenizer: ${source}: expected a JSON object`);
  }
  const tj = tokenizerJson as Record<string, unknown>;
  // tokenizers.js requires these keys to exist (null allowed) and added_tokens to be a list.
  const normalizedJson: Record<string, unknown> = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    ...tj,
  };
  if (!normalizedJson.model) throw new Error(`tokenizer: ${source}: missing "model"`);
  checkTokenizerJson(normalizedJson, source);
  const cfgIn =
    typeof tokenizerConfig === 'object' && tokenizerConfig !== null && !Array.isArray(tokenizerConfig)
      ? (tokenizerConfig as Record<string, unknown>)
      : {};
  // Decoding must be the exact inverse of encoding: never "clean up" spaces before punctuation.
  const config = { ...cfgIn, clean_up_tokenization_spaces: false };
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(normalizedJson, config);
  } catch (err) {
    throw new Error(`tokenizer: ${source}: cannot build tokenizer: ${(err as Error).message}`, { cause: err });
  }
  const vocab = tok.get_vocab(true);
  let maxId = -1;
  for (const id of vocab.values()) if (id > maxId) maxId = id;
  if (maxId < 0) throw new Error(`tokenizer: ${source}: empty vocabulary`);
  const vocabSize = maxId + 1;
  // Last guard against a component the library accepted but cannot use: text must become tokens.
  let probe: number[];
  try {
    probe = tok.encode(PROBE_TEXT, { add_special_tokens: false }).ids;
  } catch (err) {
    throw new Error(`tokenizer: ${source}: cannot encode text (${(err as Error).message}); a component is malformed`, { cause: err });
  }
  if (probe.length === 0) {
    throw new Error(
      `tokenizer: ${source}: encodes ${JSON.stringify(PROBE_TEXT)} to no tokens (normalizer or pre_tokenizer drops all text)`,
    );
  }

  const resolve = (what: string, override: string | undefined, configured: unknown, candidates: string[]): number | undefined => {
    const name = override ?? tokenContent(configured);
    if (name !== undefined) {
      const id = tok.token_to_id(name);
      if (id === undefined) throw new Error(`tokenizer: ${source}: ${what} token ${JSON.stringify(name)} is not in the vocabulary`);
      return id;
    }
    for (const c of candidates) {
      const id = tok.token_to_id(c);
      if (id !== undefined) return id;
    }
    return undefined;
  };
  const eosId = resolve('eos', opts.eosToken, cfgIn.eos_token, EOS_CANDIDATES);
  if (eosId === undefined) {
    throw new Error(
      `tokenizer: ${source}: no end-of-sequence token (none of ${EOS_CANDIDATES.join(' ')} and no eos_token in tokenizer_config.json)`,
    );
  }
  const bosId = resolve('bos', opts.bosToken, cfgIn.bos_token, BOS_CANDIDATES);
  const padId = resolve('pad', opts.padToken, cfgIn.pad_token, PAD_CANDIDATES) ?? eosId;

  const wrapper: TextTokenizer = {
    source,
    vocabSize,
    eosId,
    padId,
    encode(text: string, o: { addSpecialTokens?: boolean } = {}): number[] {
      if (typeof text !== 'string') throw new Error(`tokenizer ${source}: encode expects a string, got ${typeof text}`);
      return tok.encode(text, { add_special_tokens: o.addSpecialTokens ?? false }).ids;
    },
    decode(ids: ArrayLike<number>, o: { skipSpecialTokens?: boolean } = {}): string {
      const list: number[] = Array.from(ids);
      if (list.length === 0) return '';
      for (let i = 0; i < list.length; i++) {
        const id = list[i];
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize || tok.id_to_token(id) === undefined) {
          throw new Error(`tokenizer ${source}: cannot decode id ${id} at position ${i} (vocabulary has ${vocabSize} ids)`);
        }
      }
      return tok.decode(list, { skip_special_tokens: o.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
    },
    tokenToId: (t: string) => tok.token_to_id(t),
    idToToken: (id: number) => tok.id_to_token(id),
  };
  if (bosId !== undefined) (wrapper as { bosId?: number }).bosId = bosId;
  return Object.freeze(wrapper);
}

/**
 * Load tokenizer.json (a file, or a directory holding one); tokenizer_config.json beside it is used
 * for special tokens when present.
 */
export function loadTokenizer(file: string, opts: LoadTokenizerOptions = {}): TextTokenizer {
  let tokFile = file;
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) tokFile = path.join(file, 'tokenizer.json');
  const json = readJson(tokFile, 'tokenizer');
  const cfgFile = path.join(path.dirname(tokFile), 'tokenizer_config.json');
  const cfg = fs.existsSync(cfgFile) ? readJson(cfgFile, 'tokenizer config') : undefined;
  return tokenizerFromJson(json, cfg, tokFile, opts);
}
