// The completion server's configuration: one frozen object, built by the CLI from its flags and
// checked here, so a bad combination is refused before anything loads.
export interface ServeConfig {
  /** Address to bind; loopback unless the operator says otherwise. */
  readonly host: string;
  /** TCP port; 0 = any free port (tests, benchmarks). */
  readonly port: number;
  /** Folders adapters (PEFT directories, repositories) may be loaded from: realpaths, checked on every registration. */
  readonly allowDirs: readonly string[];
  /** Most sequences decoded in one batch. */
  readonly maxBatch: number;
  /** Most completion requests waiting for a batch; one more gets 429. */
  readonly maxQueue: number;
  /** How long the scheduler waits for more requests before it starts a batch, ms. */
  readonly batchWindowMs: number;
  /** Most adapters held in memory (least recently used evicted first). */
  readonly maxAdapters: number;
  /** Most bytes of adapter tensors held in memory. */
  readonly maxAdapterBytes: number;
  /** A request (queue wait + decoding) that runs longer is ended with 504. */
  readonly timeoutMs: number;
  /** Bearer token every route but /health requires; null = none. */
  readonly token: string | null;
  /** Largest request body, bytes (413 above). */
  readonly bodyLimitBytes: number;
  /** Longest prompt, characters (400 above); a prompt whose tokens + max_tokens overrun the context is refused too (400, context_length_exceeded). */
  readonly maxPromptChars: number;
  /** Largest max_tokens a request may ask for. */
  readonly maxTokensLimit: number;
  /** Per-file embedding cache of the hypernetwork (repository adapters); null = none. */
  readonly cacheDir: string | null;
  /** Fastify's JSON logger on stdout. */
  readonly logger: boolean;
}

export function defaultServeConfig(): ServeConfig {
  return Object.freeze({
    host: '127.0.0.1',
    port: 8080,
    allowDirs: Object.freeze([]),
    maxBatch: 32,
    maxQueue: 256,
    batchWindowMs: 5,
    maxAdapters: 64,
    maxAdapterBytes: 512 * 1024 * 1024,
    timeoutMs: 60_000,
    token: null,
    bodyLimitBytes: 1024 * 1024,
    maxPromptChars: 64 * 1024,
    maxTokensLimit: 512,
    cacheDir: null,
    logger: true,
  });
}

const FIELDS = Object.keys(defaultServeConfig());

/** Checks every field (unknown keys refused) and returns a frozen copy. */
export function validateServeConfig(c: ServeConfig): ServeConfig {
  const fail = (field: string, msg: string): never => {
    throw new Error(`serve config: ${field}: ${msg}`);
  };
  for (const k of Object.keys(c)) if (!FIELDS.includes(k)) fail(k, `unknown field (known: ${FIELDS.join(', ')})`);
  const int = (field: keyof ServeConfig, min: number) => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
      fail(field, `expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  if (typeof c.host !== 'string' || c.host === '') fail('host', `expected a host name or address, got ${JSON.stringify(c.host)}`);
  int('port', 0);
  if (c.port > 65535) fail('port', `expected at most 65535, got ${c.port}`);
  int('maxBatch', 1);
  int('maxQueue', 1);
  int('batchWindowMs', 0);
  int('maxAdapters', 1);
  int('maxAdapterBytes', 1);
  int('timeoutMs', 1);
  int('bodyLimitBytes', 1024);
  int('maxPromptChars', 1);
  int('maxTokensLimit', 1);
  if (!Array.isArray(c.allowDirs) || c.allowDirs.some((d) => typeof d !== 'string' || d === '')) {
    fail('allowDirs', `expected a list of folders, got ${JSON.stringify(c.allowDirs)}`);
  }
  if (c.token !== null && (typeof c.token !== 'string' || c.token.length < 8))
    fail('token', 'expected null or a string of at least 8 characters');
  if (c.cacheDir !== null && (typeof c.cacheDir !== 'string' || c.cacheDir === '')) fail('cacheDir', 'expected null or a folder');
  if (typeof c.logger !== 'boolean') fail('logger', `expected a boolean, got ${JSON.stringify(c.logger)}`);
  return Object.freeze({ ...c, allowDirs: Object.freeze([...c.allowDirs]) });
}
