// `code2lora serve`: the OpenAI-compatible completion server (src/serve/) on the shipped base model
// (or --model), with per-request repository adapters. Flags become one ServeConfig; the token may
// come from C2L_SERVE_TOKEN (only the CLI reads the environment). SIGINT/SIGTERM close it gracefully:
// no new connections, requests in flight finish.
import type { Command } from 'commander';
import { defaultServeConfig, validateServeConfig } from '../../serve/config.js';
import { loadServedModel } from '../../serve/load.js';
import { buildServer, listen } from '../../serve/server.js';
import { applyThreads, intFlag, threadsOption } from '../flags.js';
import { cacheOptions, resolveCacheFlag } from './adapt.js';

interface ServeFlags {
  host: string;
  port: number;
  model?: string;
  hyper?: string | boolean;
  allowDir: string[];
  adapter: string[];
  maxBatch: number;
  maxQueue: number;
  batchWindowMs: number;
  maxAdapters: number;
  maxAdapterBytes: number;
  timeoutMs: number;
  token?: string;
  bodyLimit: number;
  maxPromptChars: number;
  maxTokens: number;
  cache?: string | boolean;
  log: boolean;
  threads: number;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  const d = defaultServeConfig();
  const cmd = program
    .command('serve')
    .description(
      'OpenAI-compatible completion server (POST /v1/completions, GET /v1/models) with per-request LoRA adapters, batched decoding',
    )
    .option('--host <addr>', 'address to bind (loopback by default; serve other machines only behind a token)', d.host)
    .option('--port <n>', 'TCP port (0: any free port)', intFlag('--port', 0), d.port)
    .option('--model <dir>', 'base model directory (default: the shipped code2lora-base); its folder name is the model id')
    .option(
      '--hyper <dir>',
      'hypernetwork for repository adapters (default: the shipped one when serving the shipped base; none for another --model)',
    )
    .option('--no-hyper', 'no hypernetwork: repository adapters are refused')
    .option(
      '--allow-dir <dir>',
      'folder adapters may be loaded from (PEFT directories, repositories); repeatable; nothing outside, symlinks included',
      collect,
      [],
    )
    .option(
      '--adapter <name=dir>',
      'load a PEFT adapter at start-up as model <base>:<name> (under an --allow-dir); repeatable',
      collect,
      [],
    )
    .option('--max-batch <n>', 'most sequences decoded in one batch (and prompts in one request)', intFlag('--max-batch', 1), d.maxBatch)
    .option(
      '--max-queue <n>',
      'most prompts waiting for a batch; beyond it requests get 429 with Retry-After',
      intFlag('--max-queue', 1),
      d.maxQueue,
    )
    .option(
      '--batch-window-ms <n>',
      'how long the first waiting request waits for others before a batch starts',
      intFlag('--batch-window-ms', 0),
      d.batchWindowMs,
    )
    .option('--max-adapters <n>', 'most adapters held in memory (least recently used evicted)', intFlag('--max-adapters', 1), d.maxAdapters)
    .option(
      '--max-adapter-bytes <n>',
      'most bytes of adapter tensors held in memory (least recently used evicted)',
      intFlag('--max-adapter-bytes', 1),
      d.maxAdapterBytes,
    )
    .option('--timeout-ms <n>', 'per-request limit, queueing included (504 beyond it)', intFlag('--timeout-ms', 1), d.timeoutMs)
    .option('--token <token>', 'bearer token every route but /health requires (default: $C2L_SERVE_TOKEN; none when unset)')
    .option('--body-limit <bytes>', 'largest request body (413 beyond it)', intFlag('--body-limit', 1024), d.bodyLimitBytes)
    .option(
      '--max-prompt-chars <n>',
      'longest prompt in characters (400 beyond it); a prompt + max_tokens over the context is 400 too (context_length_exceeded)',
      intFlag('--max-prompt-chars', 1),
      d.maxPromptChars,
    )
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', intFlag('--max-tokens', 1), d.maxTokensLimit)
    .option('--no-log', 'no JSON request log on stdout');
  cacheOptions(cmd);
  threadsOption(cmd);
  cmd.action(async (o: ServeFlags) => {
    if (o.hyper === false && o.cache !== undefined && o.cache !== false)
      throw new Error('serve: --cache needs a hypernetwork (drop --no-hyper)');
    const token = o.token ?? process.env.C2L_SERVE_TOKEN ?? null;
    const config = validateServeConfig({
      host: o.host,
      port: o.port,
      allowDirs: o.allowDir,
      maxBatch: o.maxBatch,
      maxQueue: o.maxQueue,
      batchWindowMs: o.batchWindowMs,
      maxAdapters: o.maxAdapters,
      maxAdapterBytes: o.maxAdapterBytes,
      timeoutMs: o.timeoutMs,
      token: token === '' ? null : token,
      bodyLimitBytes: o.bodyLimit,
      maxPromptChars: o.maxPromptChars,
      maxTokensLimit: o.maxTokens,
      cacheDir: resolveCacheFlag(o.cache),
      logger: o.log,
    });
    const preload = o.adapter.map((a) => {
      const i = a.indexOf('=');
      if (i <= 0 || i === a.length - 1) throw new Error(`serve: --adapter expects NAME=DIR, got ${JSON.stringify(a)}`);
      return { name: a.slice(0, i), peft_dir: a.slice(i + 1) };
    });
    applyThreads(o.threads);
    const served = loadServedModel({
      modelDir: o.model,
      hyperDir: typeof o.hyper === 'string' ? o.hyper : undefined,
      hyper: o.hyper !== false,
    });
    const server = buildServer(served, config);
    for (const p of preload) {
      try {
        await server.registry.register(p);
      } catch (e) {
        throw new Error(`serve: --adapter ${p.name}=${p.peft_dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const url = await listen(server);
    console.error(
      `code2lora serve: ${url}/v1 model ${served.name}${served.hyper ? ' (+ hypernetwork)' : ''}, ${server.registry.store.size} adapters; ` +
        `${config.token ? 'bearer token required' : 'no token'}; Ctrl-C stops`,
    );
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        console.error(`code2lora serve: ${signal}: finishing requests in flight, then closing`);
        server.app.close().then(resolve, resolve);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
  });
}
