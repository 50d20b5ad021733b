// `code2lora export merged|gguf`: an adapter folded into a Hugging Face model directory, or a model
// / adapter as a llama.cpp GGUF file. Each action calls one library function.
import type { Command } from 'commander';
import { exportMerged } from '../../adapters/lora/export-merged.js';
import { exportGgufAdapter } from '../../adapters/lora/gguf.js';
import { exportGgufBase } from '../../model/llama/gguf.js';
import { resolveModelDir } from '../../model/default-model.js';
import { jsonOption, report, type JsonFlag } from '../flags.js';

function dtypeFlag(flag: string, allowed: readonly string[]): (v: string) => string {
  return (v) => {
    const d = v.toUpperCase();
    if (!allowed.includes(d)) throw new Error(`${flag}: expected one of ${allowed.map((a) => a.toLowerCase()).join(', ')}, got ${v}`);
    return d;
  };
}

interface MergedFlags {
  adapter: string;
  model?: string;
  out: string;
  dtype: 'F32' | 'F16' | 'BF16';
  force?: boolean;
  json: JsonFlag;
}

interface GgufFlags {
  model?: string;
  adapter?: string;
  out: string;
  dtype: 'F32' | 'F16';
  json: JsonFlag;
}

export function register(program: Command): void {
  const exp = program
    .command('export')
    .description('export a model or adapter for other runtimes (Hugging Face merged directory, llama.cpp GGUF)');
  const merged = exp
    .command('merged')
    .description('fold a PEFT LoRA adapter into a copy of its base model: a plain Hugging Face directory (W + (alpha/r) B A)')
    .requiredOption('--adapter <dir>', 'PEFT LoRA adapter directory')
    .option('--model <dir>', 'base Hugging Face model directory (default: the shipped code2lora-base)')
    .requiredOption('--out <dir>', 'output model directory (written beside, then renamed into place)')
    .option('--dtype <type>', 'storage dtype of model.safetensors: f32, f16 or bf16', dtypeFlag('--dtype', ['F32', 'F16', 'BF16']), 'F32')
    .option('--force', 'replace --out if it exists');
  jsonOption(merged, 'what was written').action((o: MergedFlags) => {
    const r = exportMerged({ adapterDir: o.adapter, modelDir: resolveModelDir(o.model), outDir: o.out, dtype: o.dtype, replace: o.force });
    report(o.json, r, () =>
      process.stdout.write(
        `merged ${r.mergedProjections} projections (r=${r.rank}, alpha=${r.alpha}) into ${r.outDir}: ${r.files.join(', ')}\n`,
      ),
    );
  });
  const g = exp
    .command('gguf')
    .description('write a llama.cpp GGUF: the base model (--model), or with --adapter a LoRA adapter GGUF for that base (llama.cpp --lora)')
    .option('--model <dir>', 'Hugging Face model directory (default: the shipped code2lora-base); with --adapter, the base it belongs to')
    .option('--adapter <dir>', 'PEFT LoRA adapter directory: write the adapter, not the model')
    .requiredOption('--out <file>', 'output .gguf file (written atomically)')
    .option('--dtype <type>', 'storage type of matrices: f32 or f16 (norms stay f32)', dtypeFlag('--dtype', ['F32', 'F16']), 'F32');
  jsonOption(g, 'what was written').action((o: GgufFlags) => {
    const modelDir = resolveModelDir(o.model);
    if (o.adapter !== undefined) {
      const r = exportGgufAdapter({ adapterDir: o.adapter, modelDir, out: o.out, dtype: o.dtype });
      report(o.json, r, () =>
        process.stdout.write(`wrote ${r.out}: LoRA adapter, ${r.tensors} tensors (r=${r.rank}, alpha=${r.alpha}), ${r.bytes} bytes\n`),
      );
    } else {
      const r = exportGgufBase({ modelDir, out: o.out, dtype: o.dtype });
      report(o.json, r, () =>
        process.stdout.write(`wrote ${r.out}: ${r.tensors} tensors, ${r.metadata} metadata keys, ${r.bytes} bytes\n`),
      );
    }
  });
}
