// Completion latency for the same prompt three ways: the base model alone, the base with retrieved
// context before the prompt (RAG) and the base with an adapter (no extra context). BM25 indexes are
// built before timing (a serving system keeps its index); retrieval itself is timed. Batch 1, a fixed
// number of new tokens (no early stop, so every path decodes the same amount), the median over tasks
// after one warm-up.
import { generateGreedy } from '../../model/llama/generate.js';
import type { LlamaModel, ProjectionAdapter } from '../../model/llama/model.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { Task } from '../../data/tasks/types.js';
import { RagRetriever, defaultRagConfig, type RagConfig } from '../../retrieval/rag.js';
import { cutPromptLeft } from '../../eval/prompting.js';
import { median } from '../../data/tasks/stats.js';

export interface LatencyRow {
  method: string;
  promptTokens: number;
  retrievedTokens: number;
  msPerCompletion: number;
  msP90: number;
}
export interface LatencyReport {
  tasks: number;
  newTokens: number;
  /** the context the base allows for retrieval here (positions - new tokens - prompt) */
  retrievalBudget: number;
  rows: LatencyRow[];
  /** RAG latency / adapter latency (medians) */
  ragOverAdapter: number;
}

function quantileOf(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

export function measureLatency(
  model: LlamaModel,
  tok: TextTokenizer,
  tasks: readonly Task[],
  o: {
    adapter: ProjectionAdapter;
    corpusDir: string;
    rag?: Omit<RagConfig, 'variant' | 'maxRetrievedTokens' | 'retrievalShare'>;
    promptTokens: number;
    newTokens: number;
    onProgress?: (done: number, total: number) => void;
  },
): LatencyReport {
  if (tasks.length === 0) throw new Error('latency: no tasks');
  const P = model.config.maxPositionEmbeddings - o.newTokens;
  const retrievalBudget = Math.min(1536, P - o.promptTokens);
  if (retrievalBudget < 1) throw new Error(`latency: a ${o.promptTokens}-token prompt leaves no room for retrieval in ${P} positions`);
  const rag = new RagRetriever(
    { ...defaultRagConfig('bm25'), ...o.rag, variant: 'bm25', maxRetrievedTokens: retrievalBudget, retrievalShare: 0.99 },
    o.corpusDir,
    tok,
  );
  const gen = (ids: number[], adapter: ProjectionAdapter | null) => generateGreedy(model, [ids], { maxNewTokens: o.newTokens, adapter });
  const paths: Record<string, { ms: number[]; prompt: number[]; retrieved: number[] }> = {
    pretrained: { ms: [], prompt: [], retrieved: [] },
    rag: { ms: [], prompt: [], retrieved: [] },
    adapter: { ms: [], prompt: [], retrieved: [] },
  };
  const run = (t: Task, record: boolean) => {
    const own = cutPromptLeft(tok, t.prefix, o.promptTokens).ids;
    const text = tok.decode(own);
    for (const method of ['pretrained', 'rag', 'adapter'] as const) {
      const t0 = performance.now();
      let ids = own,
        retrieved = 0;
      if (method === 'rag') {
        const p = rag.prompt({ repo: t.repo, file: t.file, prefix: text }, retrievalBudget + own.length);
        ids = p.ids;
        retrieved = p.retrievedTokens;
      }
      gen(ids, method === 'adapter' ? o.adapter : null);
      if (record) {
        paths[method].ms.push(performance.now() - t0);
        paths[method].prompt.push(ids.length);
        paths[method].retrieved.push(retrieved);
      }
    }
  };
  // Warm-up: every repository's BM25 index is built before timing (a serving system keeps its index),
  // and one untimed completion per path.
  for (const t of tasks) rag.retrieve(t, 1);
  run(tasks[0] as Task, false);
  tasks.forEach((t, i) => {
    run(t, true);
    o.onProgress?.(i + 1, tasks.length);
  });
  const rows: LatencyRow[] = Object.entries(paths).map(([method, p]) => ({
    method,
    promptTokens: p.prompt.reduce((a, b) => a + b, 0) / p.prompt.length,
    retrievedTokens: p.retrieved.reduce((a, b) => a + b, 0) / p.retrieved.length,
    msPerCompletion: median(p.ms),
    msP90: quantileOf(p.ms, 0.9),
  }));
  const ms = (m: string) => rows.find((r) => r.method === m)!.msPerCompletion;
  return { tasks: tasks.length, newTokens: o.newTokens, retrievalBudget, rows, ragOverAdapter: ms('rag') / ms('adapter') };
}
