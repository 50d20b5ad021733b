// Checks on a parsed tokenizer.json that @huggingface/tokenizers does not make itself. Its components
// with a `pattern` (Split and Replace pre-tokenizers, Replace normalizers and decoders) accept a
// damaged pattern such as {"Regx": "x"} with only a console warning, and every text then encodes to
// zero tokens. Found by mutating the shipped files; loading must refuse instead, naming the field.

/** Component types whose `pattern` the library compiles (in normalizer, pre_tokenizer, decoder). */
const PATTERN_TYPES = new Set(['Split', 'Replace']);

/** Where a Sequence keeps its children, per section of tokenizer.json. */
const SEQUENCE_KEYS: Readonly<Record<string, string>> = {
  normalizer: 'normalizers',
  pre_tokenizer: 'pretokenizers',
  decoder: 'decoders',
  post_processor: 'processors',
};

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Throws unless `p` is {"Regex": string} or {"String": non-empty string}. */
export function checkPattern(p: unknown, where: string, source: string): void {
  const fail = (why: string): never => {
    throw new Error(`tokenizer: ${source}: ${where} ${why}, got ${describe(p)}`);
  };
  if (typeof p !== 'object' || p === null || Array.isArray(p)) fail('must be {"Regex": "..."} or {"String": "..."}');
  const keys = Object.keys(p as object);
  if (keys.length !== 1 || (keys[0] !== 'Regex' && keys[0] !== 'String')) fail('must have exactly one key, "Regex" or "String"');
  const [key] = keys;
  const value = (p as Record<string, unknown>)[key];
  if (typeof value !== 'string') fail(`.${key} must be a string`);
  if (key === 'String' && value === '') fail('.String must not be empty');
  // A Regex the library cannot compile makes it throw, which tokenizerFromJson reports with the file.
}

function checkComponent(c: unknown, section: string, where: string, source: string): void {
  if (c === null || c === undefined) return;
  if (typeof c !== 'object' || Array.isArray(c)) {
    throw new Error(`tokenizer: ${source}: ${where} must be an object with a "type", got ${describe(c)}`);
  }
  const o = c as Record<string, unknown>;
  if (typeof o.type !== 'string') throw new Error(`tokenizer: ${source}: ${where}.type must be a string, got ${describe(o.type)}`);
  if (o.type === 'Sequence') {
    const key = SEQUENCE_KEYS[section];
    const kids = o[key];
    if (!Array.isArray(kids)) throw new Error(`tokenizer: ${source}: ${where}.${key} must be a list, got ${describe(kids)}`);
    kids.forEach((k, i) => {
      checkComponent(k, section, `${where}.${key}[${i}]`, source);
    });
    return;
  }
  if (PATTERN_TYPES.has(o.type) && section !== 'post_processor') checkPattern(o.pattern, `${where}.pattern`, source);
}

/** Refuses a tokenizer.json whose normalizer, pre-tokenizer, decoder or post-processor is malformed
 *  in a way the library would accept silently. `source` names the file in errors. */
export function checkTokenizerJson(tj: Readonly<Record<string, unknown>>, source: string): void {
  for (const section of Object.keys(SEQUENCE_KEYS)) checkComponent(tj[section], section, section, source);
}
