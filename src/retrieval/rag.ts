// Retrieval-augmented prompts: BM25 over the task's own repository (never the target's own file),
// the top chunks placed before the prompt within the context budget.
//
// Budget: the prompt may use P = maxPositions - maxNewTokens positions (448 for the shipped base:
// 512 positions, 64 kept for the answer). Retrieved text gets at most min(maxRetrievedTokens,
// floor(retrievalShare * P)) of them (default: half, 224 tokens); the task's own prefix gets the
// rest, cut from the left as always. Chunks are taken in rank order while they fit (a chunk that
// does not fit is skipped, never cut), at most topK, and placed best-last, nearest the prompt.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import type { Task } from '../data/tasks/types.js';
import { Bm25Index } from './bm25.js';
import { defaultChunkConfig, repoChunks, type Chunk, type ChunkConfig, type ChunkKind } from './chunks.js';

/** bm25: production code and other test files; bm25-code: production code only; bm25-siblings:
 *  assertion-bearing functions of the repository's other test files only. */
export const RAG_VARIANTS = ['bm25', 'bm25-code', 'bm25-siblings'] as const;
export type RagVariant = (typeof RAG_VARIANTS)[number];

export interface RagConfig {
  variant: RagVariant;
  topK: number;
  /** hard cap on retrieved tokens per prompt */
  maxRetrievedTokens: number;
  /** share of the prompt budget retrieval may take */
  retrievalShare: number;
  /** the query: the last N lines of the task's prefix */
  queryLines: number;
  chunks: ChunkConfig;
}

export function defaultRagConfig(variant: RagVariant = 'bm25-siblings'): RagConfig {
  return { variant, topK: 8, maxRetrievedTokens: 1536, retrievalShare: 0.5, queryLines: 12, chunks: defaultChunkConfig() };
}

export function validateRagConfig(c: RagConfig, source: string): Readonly<RagConfig> {
  const fail = (m: string): never => {
    throw new Error(`rag config ${source}: ${m}`);
  };
  if (!(RAG_VARIANTS as readonly string[]).includes(c.variant))
    fail(`variant must be one of ${RAG_VARIANTS.join(', ')}, got ${JSON.stringify(c.variant)}`);
  for (const k of ['topK', 'maxRetrievedTokens', 'queryLines'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 1) fail(`${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  if (!(c.retrievalShare > 0 && c.retrievalShare < 1)) fail(`retrievalShare must be in (0, 1), got ${JSON.stringify(c.retrievalShare)}`);
  return Object.freeze({ ...c, chunks: Object.freeze({ ...defaultChunkConfig(), ...c.chunks }) });
}

export function variantKinds(v: RagVariant): ChunkKind[] {
  return v === 'bm25-code' ? ['code'] : v === 'bm25-siblings' ? ['test'] : ['code', 'test'];
}

export interface RagPrompt {
  ids: number[];
  truncated: boolean;
  retrievedTokens: number;
  chunks: Array<{ file: string; startLine: number; score: number }>;
}

/** The folder of each corpus project, from its manifest.json. */
export function corpusRepoDirs(corpusDir: string): Map<string, string> {
  let m: { projects?: Array<{ name: string; dir: string }> };
  try {
    m = JSON.parse(readFileSync(join(corpusDir, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw new Error(`RAG: cannot read ${join(corpusDir, 'manifest.json')}: ${(e as Error).message}`);
  }
  if (!Array.isArray(m.projects)) throw new Error(`RAG: ${join(corpusDir, 'manifest.json')} has no projects list`);
  return new Map(m.projects.map((p) => [p.name, join(corpusDir, p.dir)]));
}

/** Builds one BM25 index per repository on first use and prompts tasks with it. */
export class RagRetriever {
  readonly config: Readonly<RagConfig>;
  private readonly indexes = new Map<string, { index: Bm25Index; chunks: Chunk[] }>();
  private readonly repoDirs: Map<string, string>;
  /** repositories whose index holds no chunk at all (prompts stay plain) */
  readonly emptyRepos = new Set<string>();
  retrievalSeconds = 0;

  constructor(
    config: RagConfig,
    readonly corpusDir: string,
    readonly tok: TextTokenizer,
  ) {
    this.config = validateRagConfig(config, 'RagRetriever');
    this.repoDirs = corpusRepoDirs(corpusDir);
  }

  private indexFor(repo: string) {
    let e = this.indexes.get(repo);
    if (!e) {
      const dir = this.repoDirs.get(repo);
      if (!dir) throw new Error(`RAG: repository ${repo} is not in ${join(this.corpusDir, 'manifest.json')}`);
      const chunks = repoChunks(dir, variantKinds(this.config.variant), this.config.chunks);
      if (chunks.length === 0) this.emptyRepos.add(repo);
      e = { index: new Bm25Index(chunks), chunks };
      this.indexes.set(repo, e);
    }
    return e;
  }

  /** Ranked chunks for a task: its own file is never a candidate (not even above the cut point). */
  retrieve(task: Pick<Task, 'repo' | 'file' | 'prefix'>, k: number): Array<{ chunk: Chunk; score: number }> {
    const { index, chunks } = this.indexFor(task.repo);
    const query = task.prefix.split('\n').slice(-this.config.queryLines).join('\n');
    return index.search(query, k, task.file).map((h) => ({ chunk: chunks[h.index] as Chunk, score: h.score }));
  }

  /** Retrieved chunks + the task's prefix within maxPromptTokens (see the budget note above). */
  prompt(task: Pick<Task, 'repo' | 'file' | 'prefix'>, maxPromptTokens: number): RagPrompt {
    const t0 = performance.now();
    const budget = Math.min(this.config.maxRetrievedTokens, Math.floor(this.config.retrievalShare * maxPromptTokens));
    const picked: Array<{ ids: number[]; chunk: Chunk; score: number }> = [];
    let used = 0;
    for (const h of this.retrieve(task, Math.max(this.config.topK * 4, 16))) {
      if (picked.length >= this.config.topK) break;
      const ids = this.tok.encode(`# ${h.chunk.file}\n${h.chunk.text}\n\n`);
      if (used + ids.length > budget) continue;
      picked.push({ ids, chunk: h.chunk, score: h.score });
      used += ids.length;
    }
    this.retrievalSeconds += (performance.now() - t0) / 1000;
    const retrieved = picked.reverse().flatMap((p) => p.ids); // best last, nearest the prompt
    const own = this.tok.encode(task.prefix);
    const room = maxPromptTokens - retrieved.length;
    const truncated = own.length > room;
    return {
      ids: [...retrieved, ...(truncated ? own.slice(own.length - room) : own)],
      truncated,
      retrievedTokens: retrieved.length,
      chunks: picked.map((p) => ({ file: p.chunk.file, startLine: p.chunk.startLine, score: p.score })),
    };
  }
}
