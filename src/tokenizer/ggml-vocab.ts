// A Hugging Face byte-level BPE tokenizer.json as llama.cpp's "gpt2" vocabulary: tokens by id, their
// kinds and the merges, the lists a GGUF file stores under tokenizer.ggml.*. Plain data (this is a
// leaf); the GGUF writer wraps it.

/** llama.cpp's token kinds (llama_token_type). */
export const GGML_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface GgmlVocab {
  /** token text by id (byte-level BPE strings, as in tokenizer.json) */
  tokens: string[];
  tokenTypes: number[];
  /** "left right" pairs, in merge order */
  merges: string[];
  /** ids by special-token text */
  special: Map<string, number>;
}

function fail(source: string, msg: string): never {
  throw new Error(`ggml vocab ${source}: ${msg}`);
}

/**
 * Reads tokenizer.json (BPE model). `vocabSize` is the model's row count: ids the tokenizer does not
 * use are filled with "[PAD<id>]" tokens of kind unused, as llama.cpp's converter does.
 */
export function ggmlVocabFromTokenizerJson(json: unknown, vocabSize: number, source: string): GgmlVocab {
  const t = json as { model?: { type?: unknown; vocab?: unknown; merges?: unknown }; added_tokens?: unknown };
  if (typeof t !== 'object' || t === null || typeof t.model !== 'object' || t.model === null) fail(source, 'no "model" object');
  if (t.model.type !== 'BPE')
    fail(source, `model.type: only "BPE" converts to llama.cpp's gpt2 vocabulary, got ${JSON.stringify(t.model.type)}`);
  const vocab = t.model.vocab;
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) fail(source, 'model.vocab must be an object {token: id}');
  const tokens: Array<string | undefined> = new Array(vocabSize);
  const tokenTypes = new Array<number>(vocabSize).fill(GGML_TOKEN_TYPE.normal);
  const put = (tok: string, id: unknown, where: string): void => {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
      fail(source, `${where}: bad id ${JSON.stringify(id)} for ${JSON.stringify(tok)}`);
    if (id >= vocabSize) fail(source, `${where}: id ${id} of ${JSON.stringify(tok)} is outside the model's vocabulary (${vocabSize} rows)`);
    if (tokens[id] !== undefined && tokens[id] !== tok)
      fail(source, `${where}: id ${id} is both ${JSON.stringify(tokens[id])} and ${JSON.stringify(tok)}`);
    tokens[id] = tok;
  };
  for (const [tok, id] of Object.entries(vocab as Record<string, unknown>)) put(tok, id, 'model.vocab');
  const special = new Map<string, number>();
  if (t.added_tokens !== undefined) {
    if (!Array.isArray(t.added_tokens)) fail(source, 'added_tokens must be a list');
    for (const a of t.added_tokens as Array<{ id?: unknown; content?: unknown; special?: unknown }>) {
      if (typeof a.content !== 'string') fail(source, 'added_tokens: an entry without "content"');
      put(a.content, a.id, 'added_tokens');
      tokenTypes[a.id as number] = a.special === false ? GGML_TOKEN_TYPE.userDefined : GGML_TOKEN_TYPE.control;
      special.set(a.content, a.id as number);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < vocabSize; i++) {
    const tok = tokens[i];
    if (tok === undefined) {
      out.push(`[PAD${i}]`);
      tokenTypes[i] = GGML_TOKEN_TYPE.unused;
    } else out.push(tok);
  }
  const rawMerges = t.model.merges ?? [];
  if (!Array.isArray(rawMerges)) fail(source, 'model.merges must be a list');
  const merges = rawMerges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return `${m[0]} ${m[1]}`;
    return fail(source, `model.merges[${i}]: expected "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
  });
  return { tokens: out, tokenTypes, merges, special };
}
