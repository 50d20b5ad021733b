// Runs the PyTorch twin (perf/torch/llama_ref.py) as a peer, under the same environment as us.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';

/** A Python with torch importable: Debian's /usr/bin/python3 first (pyenv shims may shadow it). */
export function findTorchPython(preferred?: string): string | null {
  for (const py of [preferred, '/usr/bin/python3', 'python3'].filter(Boolean) as string[]) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

export function torchScript(): string {
  return join(repoRoot(), 'perf', 'torch', 'llama_ref.py');
}

/** glibc settings equivalent to what our addon's tuneAllocator() applies, for a fair peer run. */
export const TUNED_MALLOC_ENV = { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: String(1 << 30), MALLOC_TOP_PAD_: String(64 << 20) };

/** Runs `llama_ref.py bench` with a JSON config; returns its JSON line. */
export function runTorchBench(
  python: string,
  config: object,
  timeoutMs = 600_000,
  extraEnv: Record<string, string> = {},
): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'c2l-torch-'));
  try {
    const cfgPath = join(dir, 'bench.json');
    writeFileSync(cfgPath, JSON.stringify(config));
    const r = spawnSync(python, [torchScript(), 'bench', cfgPath], {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: { ...process.env, ...extraEnv },
    });
    if (r.status !== 0) throw new Error(`torch bench failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
    const line = r.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
