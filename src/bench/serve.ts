// `bench serve`: the completion server on loopback under load, bounded in requests and time.
//  - tokens/s and p50/p99 latency at each client count (default 1, 8, 32), all on one adapter;
//  - 32 clients each on its own adapter vs 32 sharing one (mixed-adapter batches: ratio, target >= 0.8);
//  - adapter registration time (PEFT directory; repository through the hypernetwork when one loads);
//  - a soak that registers and deletes N distinct adapters while a client keeps completing, with
//    the process's resident memory (RSS) before and after.
// Completions are greedy with no stop string, so every request decodes max_tokens unless EOS comes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { defaultLoraConfig } from '../adapters/lora/config.js';
import type { LlamaConfig } from '../model/llama/config.js';
import { defaultServeConfig } from '../serve/config.js';
import { loadServedModel } from '../serve/load.js';
import { buildServer, listen } from '../serve/server.js';
import { Rng } from '../util/rng.js';
import { repoRoot } from '../util/repo-root.js';

export interface ServeBenchOptions {
  modelDir?: string;
  hyperDir?: string;
  /** client counts for the throughput/latency rows */
  clients: number[];
  /** requests each client sends, one after another */
  requestsPerClient: number;
  maxTokens: number;
  /** clients (and distinct adapters) in the mixed vs shared comparison */
  mixedClients: number;
  /** distinct adapters registered and deleted in the soak */
  soakAdapters: number;
  /** the soak stops after this many seconds even if fewer adapters went through */
  soakSeconds: number;
  maxBatch: number;
  seed: number;
  log?: (s: string) => void;
}

/** A random rank-16 adapter on all seven projections (non-zero B: it does real work), as a PEFT directory. */
function writeRandomAdapter(dir: string, cfg: LlamaConfig, seed: number): void {
  const rng = new Rng(seed);
  const a = LoraAdapter.init(defaultLoraConfig(), cfg, rng);
  for (const p of a.parameters()) if (p.name.endsWith('lora_B')) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.01;
  a.savePeft(dir, cfg, null);
}

const PROMPTS = [
  'import os\n\n\ndef read_config(path):\n    with open(path) as f:\n',
  'class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n',
  'def test_add():\n    assert add(1, 2) == 3\n    assert add(',
  'from typing import List\n\n\ndef mean(xs: List[float]) -> float:\n    return',
];

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export async function runServeBench(o: ServeBenchOptions) {
  const log = o.log ?? (() => {});
  const work = mkdtempSync(path.join(tmpdir(), 'c2l-bench-serve-'));
  try {
    const served = loadServedModel({ modelDir: o.modelDir, hyperDir: o.hyperDir });
    const cfg = served.model.config;
    const examples = path.join(repoRoot(), 'examples');
    const server = buildServer(served, {
      ...defaultServeConfig(),
      port: 0,
      logger: false,
      allowDirs: [work, examples],
      maxBatch: o.maxBatch,
      maxQueue: 4096,
      maxAdapters: Math.max(64, o.mixedClients + 2),
      cacheDir: path.join(work, 'cache'),
      timeoutMs: 600_000,
    });
    const url = await listen(server);
    const post = async (p: string, body: unknown) => {
      const r = await fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const j = (await r.json()) as Record<string, unknown>;
      if (r.status >= 300) throw new Error(`bench serve: ${p} -> ${r.status} ${JSON.stringify(j)}`);
      return j;
    };
    const del = (name: string) => fetch(`${url}/v1/adapters/${name}`, { method: 'DELETE' });

    // Adapters: one shared, one per mixed client; PEFT registration timed.
    const regMs: number[] = [];
    const register = async (name: string, seed: number) => {
      const dir = path.join(work, 'peft', name);
      writeRandomAdapter(dir, cfg, seed);
      const t0 = performance.now();
      await post('/v1/adapters', { name, peft_dir: dir });
      regMs.push(performance.now() - t0);
    };
    await register('shared', o.seed);
    for (let i = 0; i < o.mixedClients; i++) await register(`a${i}`, o.seed + 1 + i);
    const sortedReg = [...regMs].sort((a, b) => a - b);
    const registration: Record<string, number | null> = {
      peft_ms_p50: quantile(sortedReg, 0.5),
      peft_ms_max: sortedReg[sortedReg.length - 1],
      adapter_bytes: server.registry.store.list()[0]?.bytes ?? 0,
      repo_cold_s: null,
      repo_commit_s: null,
    };
    if (served.hyper) {
      const t0 = performance.now();
      await post('/v1/adapters', { name: 'textkit', repo: path.join(examples, 'textkit') });
      registration.repo_cold_s = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      await post('/v1/repos/textkit/commits', {});
      registration.repo_commit_s = (performance.now() - t1) / 1000;
      await del('textkit');
    }
    log(
      `registration: PEFT adapter (${(registration.adapter_bytes! / 1e6).toFixed(2)} MB) p50 ${registration.peft_ms_p50!.toFixed(1)} ms` +
        (registration.repo_cold_s !== null
          ? `; repository examples/textkit ${registration.repo_cold_s.toFixed(2)} s cold, ${registration.repo_commit_s!.toFixed(2)} s after a no-op commit (cache)`
          : ''),
    );

    /** `clients` concurrent clients, each sending requestsPerClient requests in turn on model(c). */
    const load = async (clients: number, model: (c: number) => string) => {
      const lat: number[] = [];
      let tokens = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          for (let r = 0; r < o.requestsPerClient; r++) {
            const s = performance.now();
            const j = await post('/v1/completions', {
              model: model(c),
              prompt: PROMPTS[(c + r) % PROMPTS.length],
              max_tokens: o.maxTokens,
              temperature: 0,
            });
            lat.push(performance.now() - s);
            tokens += (j.usage as { completion_tokens: number }).completion_tokens;
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      lat.sort((a, b) => a - b);
      return {
        clients,
        requests: lat.length,
        tokens,
        seconds,
        tokens_per_s: tokens / seconds,
        p50_ms: quantile(lat, 0.5),
        p99_ms: quantile(lat, 0.99),
      };
    };
    const base = served.name;
    await load(1, () => `${base}:shared`); // warm-up
    const concurrency = [];
    for (const c of o.clients) {
      const r = await load(c, () => `${base}:shared`);
      concurrency.push(r);
      log(
        `${String(c).padStart(3)} clients: ${r.tokens_per_s.toFixed(0)} tok/s, p50 ${r.p50_ms.toFixed(0)} ms, p99 ${r.p99_ms.toFixed(0)} ms (${r.requests} requests)`,
      );
    }
    const shared = await load(o.mixedClients, () => `${base}:shared`);
    const mixed = await load(o.mixedClients, (c) => `${base}:a${c}`);
    const ratio = mixed.tokens_per_s / shared.tokens_per_s;
    log(
      `${o.mixedClients} clients, one adapter each: ${mixed.tokens_per_s.toFixed(0)} tok/s vs all on one adapter ${shared.tokens_per_s.toFixed(0)} tok/s: ` +
        `ratio ${ratio.toFixed(2)} (target >= 0.8)`,
    );

    // Soak: distinct adapters in and out while one client keeps completing.
    const rssBefore = process.memoryUsage().rss;
    let soaked = 0,
      served_ = 0,
      stop = false;
    const client = (async () => {
      while (!stop) {
        await post('/v1/completions', {
          model: `${base}:shared`,
          prompt: PROMPTS[served_ % PROMPTS.length],
          max_tokens: 8,
          temperature: 0,
        });
        served_++;
      }
    })();
    const tSoak = performance.now();
    const soakDir = path.join(work, 'peft', 'soak');
    for (let i = 0; i < o.soakAdapters && (performance.now() - tSoak) / 1000 < o.soakSeconds; i++) {
      writeRandomAdapter(soakDir, cfg, o.seed + 100_000 + i); // distinct content each time
      await post('/v1/adapters', { name: `soak${i}`, peft_dir: soakDir });
      if (i % 2 === 0) await del(`soak${i}`); // the others leave by LRU eviction
      soaked++;
    }
    stop = true;
    await client;
    const soakSeconds = (performance.now() - tSoak) / 1000;
    const rssAfter = process.memoryUsage().rss;
    const soak = {
      adapters: soaked,
      requested: o.soakAdapters,
      seconds: soakSeconds,
      completions_meanwhile: served_,
      adapters_held_after: server.registry.store.size,
      rss_before_mb: rssBefore / 2 ** 20,
      rss_after_mb: rssAfter / 2 ** 20,
    };
    log(
      `soak: ${soaked} distinct adapters registered/deleted in ${soakSeconds.toFixed(1)} s with ${served_} completions meanwhile; ` +
        `RSS ${soak.rss_before_mb.toFixed(0)} MB -> ${soak.rss_after_mb.toFixed(0)} MB; ${soak.adapters_held_after} adapters held`,
    );
    await server.app.close();
    return {
      model: base,
      config: { maxBatch: o.maxBatch, maxTokens: o.maxTokens, requestsPerClient: o.requestsPerClient, prompts: PROMPTS.length },
      registration,
      concurrency,
      mixed_vs_shared: { clients: o.mixedClients, mixed, shared, ratio },
      soak,
      batches: server.scheduler.stats(),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
