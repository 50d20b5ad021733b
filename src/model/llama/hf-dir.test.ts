import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultLlamaConfig, validateLlamaConfig } from './config.js';
import { llamaTensorSpecs } from './weights.js';
import { readHfDir, writeHfDir } from './hf-dir.js';
import { readSafetensors, writeSafetensors } from '../../formats/safetensors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-hf-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cfg = validateLlamaConfig(
  {
    ...defaultLlamaConfig(),
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    intermediateSize: 24,
    vocabSize: 40,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
  },
  'test',
);

function randomTensors(seed = 1): Map<string, { shape: number[]; data: Float32Array }> {
  let s = seed;
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const spec of llamaTensorSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      data[i] = s / 2 ** 31 - 0.5;
    }
    m.set(spec.name, { shape: [...spec.shape], data });
  }
  return m;
}

describe('HF model directory', () => {
  it('refuses a tied config whose checkpoint holds a different lm_head, naming tie_word_embeddings', () => {
    const tied = validateLlamaConfig({ ...cfg, tieWordEmbeddings: true }, 'tied');
    const tensors = randomTensors(3);
    const emb = tensors.get('model.embed_tokens.weight')!;
    const same = path.join(tmp, 'tied-same');
    writeHfDir(same, tied, new Map([...tensors, ['lm_head.weight', { shape: emb.shape, data: emb.data.slice() }]]));
    expect(readHfDir(same).tensors.has('lm_head.weight')).toBe(false); // an identical copy is dropped
    const head = emb.data.slice();
    head[5] += 1;
    const diff = path.join(tmp, 'tied-diff');
    writeHfDir(diff, tied, new Map([...tensors, ['lm_head.weight', { shape: emb.shape, data: head }]]));
    expect(() => readHfDir(diff)).toThrow(/tie_word_embeddings is true, but .* holds an lm_head\.weight that differs .*element 5/);
  });

  it('writes and reads back config, weights (f32 and bf16), generation config and tokenizer', () => {
    const dir = path.join(tmp, 'single', 'nested');
    const tensors = randomTensors();
    writeHfDir(dir, cfg, tensors, { tokenizerJson: { model: { type: 'BPE' } } });
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']);
    expect(readSafetensors(path.join(dir, 'model.safetensors')).metadata).toEqual({ format: 'pt' });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'generation_config.json'), 'utf8'))).toMatchObject({
      bos_token_id: 1,
      eos_token_id: 2,
    });
    const back = readHfDir(dir);
    expect(back.config).toEqual(cfg);
    expect(back.tokenizerPath).toBe(path.join(dir, 'tokenizer.json'));
    for (const [name, t] of tensors) expect(Array.from(back.tensors.get(name)!.data), name).toEqual(Array.from(t.data));

    writeHfDir(dir, cfg, tensors, { dtype: 'BF16' });
    const half = readHfDir(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    const w = half.tensors.get('model.layers.0.mlp.up_proj.weight')!;
    expect(w.dtype).toBe('BF16');
    const src = tensors.get('model.layers.0.mlp.up_proj.weight')!.data;
    for (let i = 0; i < src.length; i++) expect(Math.abs(w.data[i] - src[i])).toBeLessThanOrEqual(Math.abs(src[i]) * 2 ** -8);
  });

  it('refuses to write tensors that do not match the config, writing nothing', () => {
    const dir = path.join(tmp, 'refused');
    const t = randomTensors();
    t.delete('model.norm.weight');
    expect(() => writeHfDir(dir, cfg, t)).toThrow(/missing 1: model\.norm\.weight/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  function writeSharded(dir: string): Map<string, { shape: number[]; data: Float32Array }> {
    fs.mkdirSync(dir, { recursive: true });
    const tensors = randomTensors(7);
    writeHfDir(path.join(tmp, 'tmp-config'), cfg, tensors);
    fs.copyFileSync(path.join(tmp, 'tmp-config', 'config.json'), path.join(dir, 'config.json'));
    const names = [...tensors.keys()];
    const shards = [names.slice(0, 8), names.slice(8)];
    const weightMap: Record<string, string> = {};
    shards.forEach((list, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(path.join(dir, file), new Map(list.map((n) => [n, tensors.get(n)!])), { dtype: i === 0 ? 'F32' : 'F16' });
      for (const n of list) weightMap[n] = file;
    });
    fs.writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    );
    return tensors;
  }

  it('reads a sharded directory', () => {
    const dir = path.join(tmp, 'sharded');
    const tensors = writeSharded(dir);
    const back = readHfDir(dir);
    expect(back.tensors.size).toBe(tensors.size);
    expect(back.tokenizerPath).toBeUndefined();
    expect(Array.from(back.tensors.get('model.embed_tokens.weight')!.data)).toEqual(
      Array.from(tensors.get('model.embed_tokens.weight')!.data),
    );
    expect(back.tensors.get('lm_head.weight')!.dtype).toBe('F16');
  });

  it('sharded errors name the index or shard', () => {
    const dir = path.join(tmp, 'sharded-bad');
    writeSharded(dir);
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    // a tensor the index assigns to the wrong shard
    index.weight_map['lm_head.weight'] = 'model-00001-of-00002.safetensors';
    fs.writeFileSync(indexFile, JSON.stringify(index));
    expect(() => readHfDir(dir)).toThrow(
      /index\.json assigns tensor "lm_head\.weight" to model-00001-of-00002\.safetensors, but .*model-00001-of-00002\.safetensors does not contain it/,
    );
    // a missing shard
    index.weight_map['lm_head.weight'] = 'model-00009-of-00009.safetensors';
    fs.writeFileSync(indexFile, JSON.stringify(index));
    expect(() => readHfDir(dir)).toThrow(
      /model\.safetensors\.index\.json lists shard model-00009-of-00009\.safetensors, but .* does not exist/,
    );
    // a path escaping the directory
    index.weight_map['lm_head.weight'] = '../evil.safetensors';
    fs.writeFileSync(indexFile, JSON.stringify(index));
    expect(() => readHfDir(dir)).toThrow(/points outside the directory/);
    fs.writeFileSync(indexFile, '{"weight_map": 3}');
    expect(() => readHfDir(dir)).toThrow(/model\.safetensors\.index\.json: "weight_map" must be an object/);
  });

  it('errors name config.json and the weights file', () => {
    const dir = path.join(tmp, 'broken');
    writeHfDir(dir, cfg, randomTensors());
    const cfgFile = path.join(dir, 'config.json');
    const good = fs.readFileSync(cfgFile, 'utf8');
    fs.writeFileSync(cfgFile, '{ nope');
    expect(() => readHfDir(dir)).toThrow(/broken\/config\.json is not valid JSON/);
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(good), num_key_value_heads: 3 }));
    expect(() => readHfDir(dir)).toThrow(/broken\/config\.json: num_key_value_heads/);
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(good), intermediate_size: 32 }));
    expect(() => readHfDir(dir)).toThrow(
      /broken\/model\.safetensors: .*wrong shape 6: model\.layers\.0\.mlp\.gate_proj\.weight is \[24, 16\], expected \[32, 16\]/,
    );
    fs.writeFileSync(cfgFile, good);
    fs.rmSync(path.join(dir, 'model.safetensors'));
    expect(() => readHfDir(dir)).toThrow(/broken has neither model\.safetensors nor model\.safetensors\.index\.json/);
    expect(() => readHfDir(path.join(tmp, 'absent'))).toThrow(/absent is not a directory/);
  });
});
