// Folding a LoRA adapter into a copy of the base weights: W' = W + (alpha / r) B A for every
// (layer, target module), so decoding with one adapter for a whole run costs exactly what the base
// model costs. The base model is never touched; the merged model owns copies of every tensor.
// A: [r, in], B: [out, r], W: [out, in] (Hugging Face layout, y = x W^T).
import { Tensor } from '../../tensor/index.js';
import { kernelsFor } from '../../native/index.js';
import { LlamaModel } from '../../model/llama/model.js';
import { projectionParent } from '../../model/llama/weights.js';
import { loraScaling } from './config.js';
import type { LoraAdapter } from './layer.js';

/** A new model whose projection weights carry the adapter; `model` is left as it was. */
export function mergeLora(model: LlamaModel, adapter: LoraAdapter): LlamaModel {
  const cfg = model.config,
    r = adapter.config.rank,
    scaling = loraScaling(adapter.config);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of model.params) tensors.set(name, new Tensor(t.data.slice(), t.shape, { name }));
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const m of adapter.config.targetModules) {
      const p = adapter.pair(l, m);
      if (!p) continue;
      const name = `model.layers.${l}.${projectionParent(m)}.${m}.weight`;
      const W = tensors.get(name);
      if (!W) throw new Error(`mergeLora: the model has no tensor ${name}`);
      const [out, inF] = W.shape;
      if (p.A.shape[0] !== r || p.A.shape[1] !== inF || p.B.shape[0] !== out || p.B.shape[1] !== r) {
        throw new Error(
          `mergeLora: layer ${l} ${m}: A [${p.A.shape.join(',')}] B [${p.B.shape.join(',')}] do not fit W [${out},${inF}] at rank ${r}`,
        );
      }
      if (p.A.data.constructor !== W.data.constructor || p.B.data.constructor !== W.data.constructor) {
        throw new Error(`mergeLora: layer ${l} ${m}: adapter and model float types differ`);
      }
      // W[out, in] += scaling * B[out, r] @ A[r, in]
      kernelsFor(W.data).matmul(W.data, p.B.data, p.A.data, out, inF, r, false, false, scaling, 1);
    }
  }
  return new LlamaModel(cfg, tensors);
}
