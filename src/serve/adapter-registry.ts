// Adapters arriving at run time: from a PEFT directory, or from a repository through the
// hypernetwork (its per-file embedding cache makes a re-run after a commit re-embed only the files
// that changed). Every path goes through AllowedDirs first. Changes run one at a time, so two
// refreshes of one repository cannot race; the swap itself is one step in the store.
import * as path from 'node:path';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../adapters/lora/peft.js';
import { adaptRepository, type HyperStack } from '../adapters/hyper/adapt.js';
import type { LlamaConfig } from '../model/llama/config.js';
import type { AllowedDirs } from './allowed-paths.js';
import { AdapterStore, checkAdapterName, type AdapterEntry } from './adapter-store.js';
import { ApiError, badRequest } from './errors.js';

export interface RegisterResult {
  entry: AdapterEntry;
  previousHash: string | null;
  evicted: string[];
  seconds: number;
  /** repository adapters: files embedded, how many came from the cache */
  files?: number;
  cached?: number;
}

export class AdapterRegistry {
  readonly store: AdapterStore;
  private readonly allowed: AllowedDirs;
  private readonly modelConfig: LlamaConfig;
  private readonly hyper: HyperStack | null;
  private readonly cacheDir: string | null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(o: {
    store: AdapterStore;
    allowed: AllowedDirs;
    modelConfig: LlamaConfig;
    hyper: HyperStack | null;
    cacheDir: string | null;
  }) {
    this.store = o.store;
    this.allowed = o.allowed;
    this.modelConfig = o.modelConfig;
    this.hyper = o.hyper;
    this.cacheDir = o.cacheDir;
  }

  /** Runs changes one after another. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** POST /v1/adapters: {name, peft_dir} or {name, repo}. An existing name is refused (409). */
  register(body: unknown): Promise<RegisterResult> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('expected a JSON object {name, peft_dir} or {name, repo}');
    const b = body as Record<string, unknown>;
    const name = checkAdapterName(b.name);
    const hasPeft = b.peft_dir !== undefined,
      hasRepo = b.repo !== undefined;
    if (hasPeft === hasRepo) throw badRequest('give exactly one of peft_dir (a PEFT adapter directory) or repo (a repository to adapt)');
    if (this.store.has(name))
      throw new ApiError(409, `adapter ${name} is already loaded; DELETE /v1/adapters/${name} first`, {
        code: 'adapter_exists',
        param: 'name',
      });
    if (hasPeft) {
      const dir = this.allowed.resolveFolder(b.peft_dir, 'peft_dir');
      for (const f of [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE]) this.allowed.checkFile(path.join(dir, f), 'peft_dir');
      return this.serial(() => {
        const t0 = performance.now();
        let adapter: LoraAdapter;
        try {
          adapter = LoraAdapter.loadPeft(dir, this.modelConfig);
        } catch (e) {
          // wrong shapes, missing tensors, NaN/Inf values: 400 naming the tensor (readPeftAdapter's message)
          throw new ApiError(400, `peft_dir: ${e instanceof Error ? e.message : String(e)}`, {
            param: 'peft_dir',
            code: 'invalid_adapter',
          });
        }
        const r = this.store.put(name, adapter, { kind: 'peft', dir });
        return { entry: r.entry, previousHash: null, evicted: r.evicted, seconds: (performance.now() - t0) / 1000 };
      });
    }
    const dir = this.allowed.resolveFolder(b.repo, 'repo');
    return this.serial(() => this.adaptRepo(name, dir, false));
  }

  /** POST /v1/repos/:name/commits: the repository adapter `name` generated again from its folder and swapped in. */
  refresh(name: string): Promise<RegisterResult> {
    return this.serial(() => {
      const e = this.store.get(name);
      if (!e) throw new ApiError(404, `adapter ${name} is not loaded`, { code: 'adapter_not_found', param: 'name' });
      if (e.source.kind !== 'repo')
        throw new ApiError(409, `adapter ${name} came from a PEFT directory, not a repository`, { code: 'not_a_repository' });
      const dir = this.allowed.resolveFolder(e.source.dir, 'repo'); // checked again: the folder may have changed
      return this.adaptRepo(name, dir, true);
    });
  }

  private async adaptRepo(name: string, dir: string, replace: boolean): Promise<RegisterResult> {
    if (!this.hyper)
      throw new ApiError(400, 'this server was started without a hypernetwork (--hyper): it cannot adapt repositories', {
        code: 'no_hypernetwork',
      });
    if (!replace && this.store.has(name))
      throw new ApiError(409, `adapter ${name} is already loaded`, { code: 'adapter_exists', param: 'name' });
    let r: Awaited<ReturnType<typeof adaptRepository>>;
    try {
      r = await adaptRepository(this.hyper, dir, this.cacheDir);
    } catch (err) {
      throw badRequest(`repo: ${err instanceof Error ? err.message : String(err)}`, 'repo');
    }
    const before = this.store.has(name) ? this.store.get(name)!.hash : null;
    if (replace && before === null)
      throw new ApiError(404, `adapter ${name} was deleted while it was being refreshed`, { code: 'adapter_not_found' });
    const put = this.store.put(name, r.adapter, { kind: 'repo', dir });
    return {
      entry: put.entry,
      previousHash: before,
      evicted: put.evicted,
      seconds: r.seconds,
      files: r.embedding.files,
      cached: r.embedding.cached,
    };
  }

  delete(name: string): boolean {
    return this.store.delete(name);
  }
}
