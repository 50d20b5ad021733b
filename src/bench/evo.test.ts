// `bench evo` on tiny-bench's model: every figure is there and positive, the replay applies every commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench } from '../../test/fixtures/tiny-bench.js';
import { runEvoBench } from './evo.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-bench-evo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('bench evo', () => {
  it('times init, one update by part and a replay', async () => {
    const bench = makeTinyBench(join(root, 'bench'));
    const lines: string[] = [];
    const r = await runEvoBench({ files: 3, commits: 2, modelDir: bench.modelDir, seed: 0, log: (s) => lines.push(s) });
    expect(r.checkpoint).toMatch(/fresh head/);
    expect(r.initSeconds).toBeGreaterThan(0);
    for (const v of Object.values(r.update)) expect(v).toBeGreaterThan(0);
    expect(r.replaySeconds).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/one update \(median of 2\)/);
  }, 60_000);
});
