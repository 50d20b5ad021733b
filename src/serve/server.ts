// The OpenAI-compatible completion server: routes over the scheduler (batched decoding, mixed
// adapters) and the adapter registry. `model` picks the adapter per request: "<base>" is the base
// model alone, "<base>:<adapter>" one loaded adapter; anything else is 404 naming what is missing,
// never a silent fallback to the base. Errors keep OpenAI's JSON shape (errors.ts).
import { randomInt, randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { HyperStack } from '../adapters/hyper/adapt.js';
import type { LlamaModel } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { Rng } from '../util/rng.js';
import { AllowedDirs } from './allowed-paths.js';
import { AdapterRegistry } from './adapter-registry.js';
import { AdapterStore, type AdapterEntry } from './adapter-store.js';
import type { DecodeOutcome, DecodeRow } from './batch-decode.js';
import { parseCompletionRequest, type CompletionRequest } from './completion-request.js';
import { validateServeConfig, type ServeConfig } from './config.js';
import { ApiError, badRequest } from './errors.js';
import { Scheduler } from './scheduler.js';

/** What the server serves: a base model with its tokenizer, and the hypernetwork trained for it (optional). */
export interface ServedModel {
  /** the base model's id in the API (e.g. code2lora-base) */
  name: string;
  model: LlamaModel;
  tokenizer: TextTokenizer;
  hyper: HyperStack | null;
}

export interface CompletionServer {
  app: FastifyInstance;
  scheduler: Scheduler;
  registry: AdapterRegistry;
  config: ServeConfig;
}

const OWNER = 'code2lora';

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const d = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(d(m[1]), d(token));
}

function sendError(reply: FastifyReply, e: ApiError): FastifyReply {
  for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
  return reply.code(e.status).send(e.body());
}

export function buildServer(served: ServedModel, configIn: ServeConfig): CompletionServer {
  const config = validateServeConfig(configIn);
  if (served.name.includes(':')) throw new Error(`serve: the model name ${served.name} must not contain ':'`);
  const { model, tokenizer: tok } = served;
  const allowed = new AllowedDirs(config.allowDirs);
  const store = new AdapterStore({ maxAdapters: config.maxAdapters, maxBytes: config.maxAdapterBytes });
  const registry = new AdapterRegistry({ store, allowed, modelConfig: model.config, hyper: served.hyper, cacheDir: config.cacheDir });
  const scheduler = new Scheduler(
    { model, decode: (ids) => tok.decode(ids), eosId: tok.eosId, padId: tok.padId },
    { maxBatch: config.maxBatch, maxQueue: config.maxQueue, windowMs: config.batchWindowMs },
  );
  const app = Fastify({
    logger: config.logger ? { level: 'info' } : false,
    bodyLimit: config.bodyLimitBytes,
    forceCloseConnections: 'idle',
  });
  const started = Math.floor(Date.now() / 1000);
  const maxPos = model.config.maxPositionEmbeddings;

  app.addHook('onRequest', async (req, reply) => {
    if (config.token === null || req.url === '/health') return;
    if (!tokenMatches(req.headers.authorization, config.token)) {
      reply.header('www-authenticate', 'Bearer');
      return sendError(reply, new ApiError(401, 'missing or wrong bearer token (Authorization: Bearer ...)', { code: 'invalid_api_key' }));
    }
  });
  // Shutdown: stop taking connections, let requests in flight finish (each answered with
  // `Connection: close` so its keep-alive socket does not hold the server open), then drain the scheduler.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    await scheduler.close();
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, new ApiError(413, `request body over ${config.bodyLimitBytes} bytes`, { code: 'body_too_large' }));
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    return sendError(
      reply,
      new ApiError(status, status >= 500 ? `internal error: ${err.message}` : err.message, { code: err.code ?? null }),
    );
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new ApiError(404, `no route ${req.method} ${req.url}`, { code: 'route_not_found' })),
  );

  const modelCard = (id: string, created: number, extra: Record<string, unknown> = {}) => ({
    id,
    object: 'model',
    created,
    owned_by: OWNER,
    ...extra,
  });
  const adapterCard = (e: AdapterEntry) =>
    modelCard(`${served.name}:${e.name}`, e.created, {
      parent: served.name,
      adapter: { name: e.name, sha256: e.hash, bytes: e.bytes, source: e.source.kind },
    });

  /** The adapter a request's `model` names: null for the base model; 404 naming what is missing. */
  function resolveModel(id: string): AdapterEntry | null {
    if (id === served.name) return null;
    const prefix = `${served.name}:`;
    if (!id.startsWith(prefix)) {
      throw new ApiError(
        404,
        `model ${id} does not exist; this server serves ${served.name} and ${served.name}:<adapter> (GET /v1/models)`,
        {
          param: 'model',
          code: 'model_not_found',
        },
      );
    }
    const name = id.slice(prefix.length);
    const e = store.get(name);
    if (!e)
      throw new ApiError(404, `adapter ${name} is not loaded (model ${id}); register it with POST /v1/adapters`, {
        param: 'model',
        code: 'adapter_not_found',
      });
    return e;
  }

  app.get('/health', async () => ({ status: 'ok', model: served.name, adapters: store.size, ...scheduler.stats() }));

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [modelCard(served.name, started), ...store.list().map(adapterCard)],
  }));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    const e = resolveModel(req.params.id);
    return e ? adapterCard(e) : modelCard(served.name, started);
  });

  app.get('/v1/adapters', async () => ({
    object: 'list',
    data: store.list().map((e) => ({
      name: e.name,
      model: `${served.name}:${e.name}`,
      sha256: e.hash,
      bytes: e.bytes,
      source: e.source,
      created: e.created,
    })),
    bytes: store.bytes(),
    limits: store.limits,
  }));
  app.post('/v1/adapters', async (req, reply) => {
    const r = await registry.register(req.body);
    req.log.info({ adapter: r.entry.name, sha256: r.entry.hash, evicted: r.evicted, seconds: r.seconds }, 'adapter registered');
    return reply.code(201).send(registration(r));
  });
  app.delete<{ Params: { name: string } }>('/v1/adapters/:name', async (req) => {
    if (!registry.delete(req.params.name))
      throw new ApiError(404, `adapter ${req.params.name} is not loaded`, { code: 'adapter_not_found' });
    req.log.info({ adapter: req.params.name }, 'adapter deleted');
    return { id: req.params.name, object: 'adapter', deleted: true };
  });
  app.post<{ Params: { name: string } }>('/v1/repos/:name/commits', async (req) => {
    const r = await registry.refresh(req.params.name);
    req.log.info(
      { adapter: r.entry.name, sha256: r.entry.hash, previous: r.previousHash, files: r.files, cached: r.cached },
      'repository adapter refreshed',
    );
    return { ...registration(r), previous_sha256: r.previousHash, changed: r.previousHash !== r.entry.hash };
  });
  function registration(r: Awaited<ReturnType<AdapterRegistry['register']>>) {
    return {
      name: r.entry.name,
      model: `${served.name}:${r.entry.name}`,
      sha256: r.entry.hash,
      bytes: r.entry.bytes,
      source: r.entry.source,
      seconds: r.seconds,
      evicted: r.evicted,
      ...(r.files !== undefined ? { files: r.files, files_from_cache: r.cached } : {}),
    };
  }

  app.post('/v1/completions', async (req, reply) => {
    const cr = parseCompletionRequest(req.body, {
      maxPromptChars: config.maxPromptChars,
      maxTokensLimit: config.maxTokensLimit,
      maxPrompts: config.maxBatch,
    });
    const entry = resolveModel(cr.model); // held until the request ends: a swap or delete does not touch it
    const prompts = cr.prompts.map((p) => tok.encode(p));
    if (prompts.some((ids) => ids.length === 0)) throw badRequest('prompt: encodes to no tokens', 'prompt');
    // As OpenAI: a prompt that does not fit the context with max_tokens is refused, naming the numbers (never cut silently).
    const longest = Math.max(...prompts.map((ids) => ids.length));
    if (longest + cr.maxTokens > maxPos) {
      const which = prompts.length > 1 ? ` (prompt ${prompts.findIndex((ids) => ids.length === longest)})` : '';
      throw new ApiError(
        400,
        `This model's maximum context length is ${maxPos} tokens, however you requested ${longest + cr.maxTokens} tokens ` +
          `(${longest} in your prompt${which}; ${cr.maxTokens} for the completion). Please reduce your prompt; or completion length.`,
        { param: cr.maxTokens >= maxPos ? 'max_tokens' : 'prompt', code: 'context_length_exceeded' },
      );
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort('timeout'), config.timeoutMs);
    const seed = cr.seed ?? randomInt(2 ** 32);
    const t0 = performance.now();
    const rows: DecodeRow[] = prompts.map((ids, i) => ({
      ids,
      adapter: entry?.adapter ?? null,
      adapterKey: entry?.hash ?? '',
      maxTokens: cr.maxTokens,
      sampling: { temperature: cr.temperature, topP: cr.topP },
      rng: cr.temperature > 0 ? new Rng(seed).fork(`choice-${i}`) : null,
      stops: cr.stop,
      signal: ac.signal,
    }));
    const head = { id: `cmpl-${randomUUID()}`, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: cr.model };
    const done = (outs: DecodeOutcome[]) => {
      clearTimeout(timer);
      const usage = {
        prompt_tokens: prompts.reduce((a, p) => a + p.length, 0),
        completion_tokens: outs.reduce((a, o) => a + o.tokens, 0),
        total_tokens: 0,
      };
      usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
      req.log.info(
        { model: cr.model, adapter: entry?.hash ?? null, choices: outs.length, ...usage, ms: Math.round(performance.now() - t0) },
        'completion',
      );
      return usage;
    };
    const timeoutError = () =>
      new ApiError(504, `the request ran over this server's ${config.timeoutMs} ms limit`, { type: 'timeout', code: 'timeout' });
    if (!cr.stream) {
      // a client that hangs up frees its rows at the next token
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) ac.abort('disconnect');
      });
      let outs: DecodeOutcome[];
      try {
        outs = await Promise.all(scheduler.submit(rows));
      } finally {
        clearTimeout(timer);
      }
      if (outs.some((o) => o.finish === 'aborted')) throw timeoutError();
      const usage = done(outs);
      return {
        ...head,
        choices: outs.map((o, index) => ({ text: o.text, index, logprobs: null, finish_reason: o.finish })),
        usage,
      };
    }
    return streamCompletion(reply, cr, rows, head, ac, timer, done, timeoutError);
  });

  /** stream: true: server-sent events, one chunk per piece of text, a last chunk per choice with its finish_reason, then [DONE]. */
  async function streamCompletion(
    reply: FastifyReply,
    cr: CompletionRequest,
    rows: DecodeRow[],
    head: Record<string, unknown>,
    ac: AbortController,
    timer: NodeJS.Timeout,
    done: (outs: DecodeOutcome[]) => unknown,
    timeoutError: () => ApiError,
  ): Promise<void> {
    const raw: ServerResponse = reply.raw;
    const send = (obj: unknown) => {
      if (!raw.writableEnded && !raw.destroyed) raw.write(`data: ${JSON.stringify(obj)}\n\n`);
    };
    const chunk = (index: number, text: string, finish: string | null) =>
      send({ ...head, choices: [{ text, index, logprobs: null, finish_reason: finish }] });
    rows.forEach((r, i) => {
      r.onText = (delta) => chunk(i, delta, null);
    });
    let promises: Promise<DecodeOutcome>[];
    try {
      promises = scheduler.submit(rows); // 429/503 still go out as plain JSON errors
    } catch (e) {
      clearTimeout(timer);
      throw e;
    }
    reply.hijack();
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: closing ? 'close' : 'keep-alive' });
    raw.on('close', () => {
      if (!raw.writableEnded) ac.abort('disconnect');
    });
    const outs = await Promise.all(
      promises.map((p, i) =>
        p.then((o) => {
          if (o.finish !== 'aborted') chunk(i, '', o.finish);
          return o;
        }),
      ),
    ).catch((e: unknown) => {
      send(new ApiError(500, `internal error: ${e instanceof Error ? e.message : String(e)}`).body());
      return null;
    });
    clearTimeout(timer);
    if (outs) {
      if (outs.some((o) => o.finish === 'aborted')) {
        if (ac.signal.reason === 'timeout') send(timeoutError().body());
      } else {
        const usage = done(outs);
        if (cr.includeUsage) send({ ...head, choices: [], usage });
        if (!raw.writableEnded && !raw.destroyed) raw.write('data: [DONE]\n\n');
      }
    }
    if (!raw.writableEnded) raw.end();
  }

  return { app, scheduler, registry, config };
}

/** Binds the server; returns its base URL (http://host:port). */
export async function listen(s: CompletionServer): Promise<string> {
  await s.app.listen({ host: s.config.host, port: s.config.port });
  const a = s.app.server.address();
  if (a === null || typeof a === 'string') throw new Error(`serve: unexpected listening address ${JSON.stringify(a)}`);
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}
