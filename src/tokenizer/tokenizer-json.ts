// A trained BPE model as Hugging Face files: tokenizer.json and tokenizer_config.json (key order
// fixed, so the bytes are deterministic), and a library Tokenizer built from them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as hf from '@huggingface/tokenizers';
import { writeFileAtomicSync } from '../util/atomic.js';
import { PAD_TOKEN, type BpeModel } from './bpe-train.js';

/** tokenizer.json contents for a trained model (key order fixed, so output bytes are deterministic). */
export function toTokenizerJson(model: BpeModel): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  model.vocab.forEach((t, i) => {
    vocab[t] = i;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: model.config.specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: model.config.pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      // "left right" strings: byte-level symbols never contain a space, and every version reads this form.
      merges: model.merges.map(([a, b]) => `${model.vocab[a]} ${model.vocab[b]}`),
    },
  };
}

export function toTokenizerConfigJson(model: BpeModel): Record<string, unknown> {
  const specials = model.config.specialTokens;
  const decoderEntries: Record<string, unknown> = {};
  specials.forEach((content, id) => {
    decoderEntries[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    added_tokens_decoder: decoderEntries,
    bos_token: null,
    eos_token: specials[0],
    pad_token: specials.includes(PAD_TOKEN) ? PAD_TOKEN : specials[0],
    unk_token: null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 1_000_000_000,
  };
}

/** Writes tokenizer.json and tokenizer_config.json into dir (created if missing), atomically. */
export function writeTokenizerDir(dir: string, model: BpeModel): { tokenizerJson: string; tokenizerConfig: string } {
  fs.mkdirSync(dir, { recursive: true });
  const tokenizerJson = path.join(dir, 'tokenizer.json');
  const tokenizerConfig = path.join(dir, 'tokenizer_config.json');
  writeFileAtomicSync(tokenizerJson, JSON.stringify(toTokenizerJson(model)) + '\n');
  writeFileAtomicSync(tokenizerConfig, JSON.stringify(toTokenizerConfigJson(model), null, 2) + '\n');
  return { tokenizerJson, tokenizerConfig };
}

/** Builds a library Tokenizer straight from a model (no files), for tests and measurements. */
export function libraryTokenizer(model: BpeModel): hf.Tokenizer {
  return new hf.Tokenizer(toTokenizerJson(model), toTokenizerConfigJson(model));
}
