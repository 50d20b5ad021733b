// `bench generate`: greedy decoding tokens/s with and without a LoRA adapter on all seven projections,
// applied per projection and folded into a copy of the weights (what a whole-run adapter costs).
import { loadNative } from '../native/index.js';
import { LlamaModel } from '../model/llama/model.js';
import { generateGreedy } from '../model/llama/generate.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { mergeLora } from '../adapters/lora/merge.js';
import { defaultLoraConfig } from '../adapters/lora/config.js';
import { Rng } from '../util/rng.js';
import { coreBenchModel } from './core.js';
import { projectionDims } from '../model/llama/weights.js';

export interface GenerateBenchOptions {
  prompt: number;
  newTokens: number;
  batch: number;
  repeats: number;
  seed: number;
  log?: (s: string) => void;
}

export function runGenerateBench(o: GenerateBenchOptions) {
  const log = o.log ?? (() => {});
  const cfg = coreBenchModel();
  const rng = new Rng(o.seed);
  const model = LlamaModel.init(cfg, rng.fork('init'));
  const lora = LoraAdapter.init(defaultLoraConfig(), cfg, rng.fork('lora'));
  // Non-zero B so the adapter does real work (a fresh adapter's B is zero).
  for (const p of lora.parameters()) if (p.name.endsWith('lora_B')) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.01;
  const data = rng.fork('prompt');
  const prompts = Array.from({ length: o.batch }, () => Array.from({ length: o.prompt }, () => data.int(cfg.vocabSize)));
  const folded = mergeLora(model, lora);
  const time = (adapter: LoraAdapter | null, m: LlamaModel = model) => {
    let best = Infinity,
      generated = 0;
    for (let r = 0; r < o.repeats; r++) {
      const t0 = performance.now();
      const g = generateGreedy(m, prompts, { maxNewTokens: o.newTokens, adapter });
      const s = (performance.now() - t0) / 1000;
      generated = g.reduce((n, x) => n + x.ids.length, 0);
      best = Math.min(best, s);
    }
    return { seconds: best, tokens: generated, tokens_per_s: generated / best };
  };
  time(null); // warm-up
  const base = time(null);
  const adapted = time(lora);
  time(null, folded); // warm-up of the copy's fresh pages
  const foldedRun = time(null, folded);
  const overhead = base.tokens_per_s / adapted.tokens_per_s - 1;
  const foldedOverhead = base.tokens_per_s / foldedRun.tokens_per_s - 1;
  // The floor for any unmerged LoRA: its multiply-adds per token relative to the base model's.
  const r = lora.config.rank;
  let baseMacs = cfg.hiddenSize * cfg.vocabSize,
    loraMacs = 0;
  for (const m of lora.config.targetModules) {
    const [out, inF] = projectionDims(cfg, m);
    baseMacs += cfg.numLayers * out * inF;
    loraMacs += cfg.numLayers * r * (out + inF);
  }
  for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const) {
    if (!lora.config.targetModules.includes(m)) {
      const [out, inF] = projectionDims(cfg, m);
      baseMacs += cfg.numLayers * out * inF;
    }
  }
  const flopFraction = loraMacs / baseMacs;
  log(
    `greedy decoding, batch ${o.batch}, prompt ${o.prompt}, ${o.newTokens} new tokens: base ${base.tokens_per_s.toFixed(1)} tok/s, with LoRA r=${lora.config.rank} on 7 projections ${adapted.tokens_per_s.toFixed(1)} tok/s (overhead ${(overhead * 100).toFixed(1)}%; the adapter's own multiply-adds are ${(flopFraction * 100).toFixed(1)}% of the base model's at this width); folded into the weights ${foldedRun.tokens_per_s.toFixed(1)} tok/s (overhead ${(foldedOverhead * 100).toFixed(1)}%)`,
  );
  return {
    benchmark: 'generate',
    base,
    lora: adapted,
    lora_overhead: overhead,
    lora_flop_fraction: flopFraction,
    lora_folded: foldedRun,
    lora_folded_overhead: foldedOverhead,
    config: {
      model: cfg,
      prompt: o.prompt,
      newTokens: o.newTokens,
      batch: o.batch,
      rank: lora.config.rank,
      threads: loadNative().getNumThreads(),
    },
  };
}
