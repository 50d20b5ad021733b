// The completion server on loopback, driven by the official `openai` client (completions, streaming,
// model listing) and by raw fetch for what a client library hides (status codes, error bodies,
// headers): a tiny random model with its tokenizer, PEFT adapters and an untrained hypernetwork.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyBench } from '../../test/fixtures/tiny-bench.js';
import { makeTinyHyper, makeTinyModel } from '../../test/fixtures/tiny-hyper.js';
import { validateLoraConfig } from '../adapters/lora/config.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import type { LlamaConfig } from '../model/llama/config.js';
import { Tensor } from '../tensor/index.js';
import { Rng } from '../util/rng.js';
import type { DecodeOutcome } from './batch-decode.js';
import { defaultServeConfig, type ServeConfig } from './config.js';
import { loadServedModel } from './load.js';
import { buildServer, listen, type CompletionServer } from './server.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-serve-'));
const bench = makeTinyBench(join(root, 'bench'));
const modelDir = makeTinyModel(join(root, 'code2lora-tiny'), bench.modelDir);
const hyperDir = join(root, 'hyper');
makeTinyHyper(hyperDir, modelDir);
const served = loadServedModel({ modelDir, hyperDir });
const BASE = 'code2lora-tiny';
const TOKEN = 'test-token-0123456789';
const allowed = join(root, 'allowed');
const outside = join(root, 'outside');

/** A random PEFT adapter (B non-zero, so it changes the completions) written to `dir`. */
function writeAdapter(
  dir: string,
  seed: number,
  c: LlamaConfig = served.model.config,
  poison: (key: string, A: Float32Array, B: Float32Array) => void = () => {},
): string {
  const rng = new Rng(seed);
  const lc = validateLoraConfig({ rank: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'o_proj', 'down_proj'], dropout: 0 });
  const init = LoraAdapter.init(lc, c, rng);
  const w = new Map<string, { A: Tensor; B: Tensor }>();
  for (const [k, p] of init.weights) {
    const mk = (t: Tensor) =>
      new Tensor(
        Float32Array.from({ length: t.size }, () => rng.normal() * 0.6),
        t.shape,
      );
    w.set(k, { A: mk(p.A), B: mk(p.B) });
    poison(k, w.get(k)!.A.data as Float32Array, w.get(k)!.B.data as Float32Array);
  }
  new LoraAdapter(lc, c, w).savePeft(dir, c, BASE);
  return dir;
}

const code = (k: number) =>
  `def f_${k}(x):\n    y = x * ${k}\n    return y + ${k}\n\n\nclass C${k}:\n    def m(self):\n        return f_${k}(${k})\n`;
function writeRepo(dir: string, n: number): string {
  mkdirSync(join(dir, 'pkg'), { recursive: true });
  for (let k = 0; k < n; k++) writeFileSync(join(dir, 'pkg', `m${k}.py`), code(k));
  return dir;
}

writeAdapter(join(allowed, 'a1'), 1);
writeAdapter(join(allowed, 'a2'), 2);
writeAdapter(join(allowed, 'a1-copy'), 1);
writeAdapter(join(outside, 'secret'), 3);
symlinkSync(join(outside, 'secret'), join(allowed, 'link-out'));
writeRepo(join(allowed, 'repo'), 4);
// adapters that must be refused: tensors for another model's shapes; NaN / Inf values
writeAdapter(join(allowed, 'wide'), 4, { ...served.model.config, intermediateSize: served.model.config.intermediateSize * 2 });
writeAdapter(join(allowed, 'nan'), 5, served.model.config, (k, _A, B) => {
  if (k === '1.v_proj') B[5] = Number.NaN;
});
writeAdapter(join(allowed, 'inf'), 6, served.model.config, (k, A) => {
  if (k === '0.q_proj') A[3] = Number.NEGATIVE_INFINITY;
});

const PROMPTS = [
  'def add(a, b):\n    return',
  'class Parser:\n    def parse(self, text):\n',
  'import os\n\n\ndef main():\n    path =',
  'x = [1, 2, 3]\nassert len(x) ==',
];

function config(o: Partial<ServeConfig> = {}): ServeConfig {
  return { ...defaultServeConfig(), port: 0, logger: false, allowDirs: [allowed], token: TOKEN, cacheDir: join(root, 'cache'), ...o };
}

let s: CompletionServer;
let url: string;
let client: OpenAI;
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

beforeAll(async () => {
  s = buildServer(served, config({ bodyLimitBytes: 64 * 1024, maxPromptChars: 32 * 1024 }));
  url = await listen(s);
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, maxRetries: 0 });
  for (const [name, dir] of [
    ['a1', 'a1'],
    ['a2', 'a2'],
  ]) {
    const r = await post('/v1/adapters', { name, peft_dir: join(allowed, dir) });
    expect(r.status).toBe(201);
  }
});
afterAll(async () => {
  await s?.app.close();
  rmSync(root, { recursive: true, force: true });
});

const greedy = (model: string, prompt: string, max_tokens = 12) => client.completions.create({ model, prompt, max_tokens, temperature: 0 });

describe('completion server: the openai client', () => {
  it('lists the base model and every loaded adapter', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual([BASE, `${BASE}:a1`, `${BASE}:a2`]);
  });

  it('completes greedily, per adapter, with usage; streaming gives the same text in chunks ending with [DONE]', async () => {
    const base = await greedy(BASE, PROMPTS[0]);
    const a1 = await greedy(`${BASE}:a1`, PROMPTS[0]);
    expect(base.object).toBe('text_completion');
    expect(base.choices).toHaveLength(1);
    expect(base.usage!.completion_tokens).toBeGreaterThan(0);
    expect(base.usage!.total_tokens).toBe(base.usage!.prompt_tokens + base.usage!.completion_tokens);
    expect(a1.choices[0].text).not.toBe(base.choices[0].text);
    const again = await greedy(`${BASE}:a1`, PROMPTS[0]);
    expect(again.choices[0].text).toBe(a1.choices[0].text);

    const stream = await client.completions.create({
      model: `${BASE}:a1`,
      prompt: PROMPTS[0],
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '',
      finish: string | null = null,
      chunks = 0,
      usage = null;
    for await (const c of stream) {
      chunks++;
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) {
        text += ch.text;
        finish = ch.finish_reason ?? finish;
      }
    }
    expect(text).toBe(a1.choices[0].text);
    expect(finish).toBe(a1.choices[0].finish_reason);
    expect(chunks).toBeGreaterThan(2);
    expect(usage).toEqual(a1.usage);
    const raw = await (
      await post('/v1/completions', { model: BASE, prompt: PROMPTS[1], max_tokens: 3, temperature: 0, stream: true })
    ).text();
    expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('a prompt array gives one choice per prompt; stop strings cut the text; a seed makes sampling reproducible', async () => {
    const many = await client.completions.create({ model: `${BASE}:a2`, prompt: PROMPTS, max_tokens: 8, temperature: 0 });
    expect(many.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    for (let i = 0; i < PROMPTS.length; i++) expect(many.choices[i].text).toBe((await greedy(`${BASE}:a2`, PROMPTS[i], 8)).choices[0].text);
    const free = many.choices[0].text;
    const stop = free.slice(2, 4);
    const cut = await client.completions.create({ model: `${BASE}:a2`, prompt: PROMPTS[0], max_tokens: 8, temperature: 0, stop: [stop] });
    expect(cut.choices[0].text).toBe(free.slice(0, free.indexOf(stop)));
    expect(cut.choices[0].finish_reason).toBe('stop');
    const sample = (seed: number) =>
      client.completions.create({ model: `${BASE}:a1`, prompt: PROMPTS[2], max_tokens: 16, temperature: 1, seed });
    const [x, y, z] = [await sample(7), await sample(7), await sample(8)];
    expect(y.choices[0].text).toBe(x.choices[0].text);
    expect(z.choices[0].text).not.toBe(x.choices[0].text);
  });

  it('requests arriving together are decoded in one batch across adapters, each exactly as served alone', async () => {
    const jobs = [BASE, `${BASE}:a1`, `${BASE}:a2`].flatMap((m) => PROMPTS.map((p) => [m, p] as const));
    const alone = [];
    for (const [m, p] of jobs) alone.push((await greedy(m, p, 10)).choices[0].text);
    const before = s.scheduler.stats().batches;
    const together = await Promise.all(jobs.map(([m, p]) => greedy(m, p, 10)));
    expect(together.map((r) => r.choices[0].text)).toEqual(alone);
    const batches = s.scheduler.stats().batches - before;
    expect(batches).toBeLessThan(jobs.length);
    expect(Math.max(...s.scheduler.recentBatchSizes.slice(-batches))).toBeGreaterThan(1);
  });
});

describe('completion server: errors in OpenAI shape', () => {
  const errorOf = async (r: Response) => ((await r.json()) as { error: { message: string; type: string; code: string | null } }).error;

  it('404 names an unknown adapter or model, never falls back to the base', async () => {
    const r = await post('/v1/completions', { model: `${BASE}:nope`, prompt: 'x', max_tokens: 2 });
    expect(r.status).toBe(404);
    const e = await errorOf(r);
    expect(e.message).toContain('nope');
    expect(e.code).toBe('adapter_not_found');
    const m = await post('/v1/completions', { model: 'gpt-4', prompt: 'x' });
    expect(m.status).toBe(404);
    expect((await errorOf(m)).message).toContain('gpt-4');
    await expect(greedy(`${BASE}:nope`, 'x')).rejects.toMatchObject({ status: 404 });
  });

  it('401 without the right bearer token; /health needs none', async () => {
    const r = await post(
      '/v1/completions',
      { model: BASE, prompt: 'x' },
      { authorization: 'Bearer wrong-token-000', 'content-type': 'application/json' },
    );
    expect(r.status).toBe(401);
    expect((await errorOf(r)).type).toBe('authentication_error');
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    const h = await fetch(`${url}/health`);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { status: string }).status).toBe('ok');
  });

  it('413 for a body over the limit, 400 for bad fields', async () => {
    const big = await post('/v1/completions', { model: BASE, prompt: 'x'.repeat(100 * 1024) });
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe('body_too_large');
    const long = await post('/v1/completions', { model: BASE, prompt: 'y'.repeat(40 * 1024) });
    expect(long.status).toBe(400);
    for (const bad of [
      { max_tokens: 0 },
      { temperature: 3 },
      { n: 2 },
      { echo: true },
      { stop: ['a', 'b', 'c', 'd', 'e'] },
      { prompt: [1, 2] },
    ]) {
      const r = await post('/v1/completions', { model: BASE, prompt: 'x', ...bad });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect((await errorOf(r)).type).toBe('invalid_request_error');
    }
    const junk = await post('/v1/completions', '{not json');
    expect(junk.status).toBe(400);
    expect(await errorOf(junk)).toHaveProperty('message');
  });

  it('adapters load only from allowed folders: .. and symlinks out are refused (403)', async () => {
    for (const peft_dir of [join(outside, 'secret'), join(allowed, '..', 'outside', 'secret'), join(allowed, 'link-out')]) {
      const r = await post('/v1/adapters', { name: 'evil', peft_dir });
      expect(r.status, peft_dir).toBe(403);
      expect((await errorOf(r)).code).toBe('path_not_allowed');
    }
    // a file inside an allowed adapter folder that links out is refused too
    const sneaky = join(allowed, 'sneaky');
    mkdirSync(sneaky);
    symlinkSync(join(outside, 'secret', 'adapter_config.json'), join(sneaky, 'adapter_config.json'));
    symlinkSync(join(outside, 'secret', 'adapter_model.safetensors'), join(sneaky, 'adapter_model.safetensors'));
    expect((await post('/v1/adapters', { name: 'evil', peft_dir: sneaky })).status).toBe(403);
    expect((await post('/v1/adapters', { name: 'bad name!', peft_dir: join(allowed, 'a1') })).status).toBe(400);
    expect((await post('/v1/adapters', { name: 'a1', peft_dir: join(allowed, 'a2') })).status).toBe(409);
  });

  it('DELETE frees an adapter: it leaves the listing and requests for it get 404; an identical adapter shares its content hash', async () => {
    const r = await post('/v1/adapters', { name: 'tmp', peft_dir: join(allowed, 'a1-copy') });
    const body = (await r.json()) as { sha256: string };
    const listed = (await (await fetch(`${url}/v1/adapters`, { headers: auth })).json()) as { data: { name: string; sha256: string }[] };
    expect(body.sha256).toBe(listed.data.find((d) => d.name === 'a1')!.sha256);
    expect((await greedy(`${BASE}:tmp`, PROMPTS[0])).choices[0].text).toBe((await greedy(`${BASE}:a1`, PROMPTS[0])).choices[0].text);
    const del = await fetch(`${url}/v1/adapters/tmp`, { method: 'DELETE', headers: { authorization: auth.authorization } });
    expect(del.status).toBe(200);
    expect((await post('/v1/completions', { model: `${BASE}:tmp`, prompt: 'x' })).status).toBe(404);
    expect((await fetch(`${url}/v1/adapters/tmp`, { method: 'DELETE', headers: { authorization: auth.authorization } })).status).toBe(404);
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).not.toContain(`${BASE}:tmp`);
  });
});

describe('completion server: bad input gets a clear 4xx, and the server keeps serving', () => {
  type ErrBody = { error: { message: string; type: string; param: string | null; code: string | null } };
  let reference = '';
  /** A normal request after each bad one: same greedy text as before anything went wrong. */
  const stillServes = async () => {
    const r = await greedy(`${BASE}:a1`, PROMPTS[1], 6);
    if (reference === '') reference = r.choices[0].text;
    expect(r.choices[0].text).toBe(reference);
  };
  const expect4xx = async (r: Response, status: number, what: string): Promise<ErrBody['error']> => {
    expect(r.status, what).toBe(status);
    const e = ((await r.json()) as ErrBody).error;
    expect(typeof e.message, what).toBe('string');
    expect(e.type, what).toBe('invalid_request_error');
    return e;
  };
  const ntok = (p: string) => served.tokenizer.encode(p).length;
  const maxPos = served.model.config.maxPositionEmbeddings;

  it('malformed JSON, a body that is not an object, a wrong content type', async () => {
    await stillServes();
    for (const body of ['{not json', '{"model": "x",}', '', 'null', '[]', '"a prompt"', '{"model": "m", "prompt": "x"']) {
      await expect4xx(await post('/v1/completions', body), 400, JSON.stringify(body));
      await stillServes();
    }
    const body = JSON.stringify({ model: BASE, prompt: 'x' });
    // text/plain arrives as a string, not an object; a type with no parser is 415
    expect(
      (await expect4xx(await post('/v1/completions', body, { ...auth, 'content-type': 'text/plain' }), 400, 'text')).message,
    ).toContain('JSON object');
    await expect4xx(await post('/v1/completions', body, { ...auth, 'content-type': 'application/xml' }), 415, 'xml');
    await stillServes();
  });

  it('wrong field types and out-of-range numbers are 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ model: 5 }, 'model'],
      [{ model: '' }, 'model'],
      [{ prompt: 5 }, 'prompt'],
      [{ prompt: [] }, 'prompt'],
      [{ prompt: { text: 'x' } }, 'prompt'],
      [{ prompt: '' }, 'prompt'],
      [{ max_tokens: '16' }, 'max_tokens'],
      [{ max_tokens: 1.5 }, 'max_tokens'],
      [{ max_tokens: -1 }, 'max_tokens'],
      [{ max_tokens: -1e9 }, 'max_tokens'],
      [{ max_tokens: 1e9 }, 'max_tokens'],
      [{ max_tokens: 2 ** 53 + 2 }, 'max_tokens'],
      [{ max_tokens: true }, 'max_tokens'],
      [{ temperature: 'hot' }, 'temperature'],
      [{ temperature: -0.5 }, 'temperature'],
      [{ top_p: 0 }, 'top_p'],
      [{ seed: 1.5 }, 'seed'],
      [{ seed: '7' }, 'seed'],
      [{ stop: 5 }, 'stop'],
      [{ stop: [''] }, 'stop'],
      [{ stream: 'yes' }, 'stream'],
      [{ stream_options: 5 }, 'stream_options'],
    ];
    for (const [bad, field] of cases) {
      const e = await expect4xx(await post('/v1/completions', { model: BASE, prompt: 'x', ...bad }), 400, JSON.stringify(bad));
      expect(e.param, JSON.stringify(bad)).toBe(field);
      expect(e.message, JSON.stringify(bad)).toContain(field);
    }
    // JSON numbers beyond float range parse to Infinity: not a finite integer
    const inf = await post('/v1/completions', `{"model": "${BASE}", "prompt": "x", "max_tokens": 1e400}`);
    expect((await expect4xx(inf, 400, '1e400')).param).toBe('max_tokens');
    await stillServes();
  });

  it("a prompt + max_tokens over the context is 400 context_length_exceeded naming both numbers, as OpenAI's; exactly full fits", async () => {
    // a prompt of n tokens, n a little under the context
    let prompt = PROMPTS[0];
    for (let k = 0; ntok(`${prompt}\n${PROMPTS[k % PROMPTS.length]}`) < maxPos - 8; k++)
      prompt = `${prompt}\n${PROMPTS[k % PROMPTS.length]}`;
    const n = ntok(prompt);
    expect(n).toBeGreaterThan(maxPos - 40);
    const cases: [unknown, number, number, string][] = [
      // [prompt, max_tokens, tokens requested, param]
      [prompt, maxPos - n + 1, maxPos + 1, 'prompt'],
      [`${prompt}\n${prompt}`, 4, ntok(`${prompt}\n${prompt}`) + 4, 'prompt'],
      [PROMPTS[0], maxPos, ntok(PROMPTS[0]) + maxPos, 'max_tokens'],
      [[PROMPTS[0], `${prompt}\n${prompt}`], 4, ntok(`${prompt}\n${prompt}`) + 4, 'prompt'],
    ];
    for (const [p, max_tokens, total, param] of cases) {
      for (const stream of [false, true]) {
        const what = `${JSON.stringify(p).length} chars, max_tokens ${max_tokens}, stream ${stream}`;
        const e = await expect4xx(await post('/v1/completions', { model: BASE, prompt: p, max_tokens, stream }), 400, what);
        expect(e.code, what).toBe('context_length_exceeded');
        expect(e.param, what).toBe(param);
        expect(e.message, what).toContain(`maximum context length is ${maxPos} tokens`);
        expect(e.message, what).toContain(`you requested ${total} tokens (${total - max_tokens} in your prompt`);
        expect(e.message, what).toContain(`${max_tokens} for the completion`);
      }
      await stillServes();
    }
    await expect(greedy(BASE, prompt, maxPos - n + 1)).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded' });
    // exactly the context: served, the prompt not cut
    const full = await greedy(BASE, prompt, maxPos - n);
    expect(full.usage!.prompt_tokens).toBe(n);
    expect(full.usage!.total_tokens).toBeLessThanOrEqual(maxPos);
    await stillServes();
  });

  it('a PEFT directory with wrong tensor shapes or NaN / Inf values is refused (400) naming the tensor, and stays unregistered', async () => {
    const cases: [string, RegExp[]][] = [
      ['wide', [/wrong shape/, /layers\.0\.mlp\.down_proj\.lora_A\.weight is \[4, \d+\], expected \[4, \d+\]/]],
      ['nan', [/non-finite/, /layers\.1\.self_attn\.v_proj\.lora_B\.weight has NaN at \[\d+, \d+\]/]],
      ['inf', [/non-finite/, /layers\.0\.self_attn\.q_proj\.lora_A\.weight has -Infinity at \[0, 3\]/]],
    ];
    for (const [dir, patterns] of cases) {
      const e = await expect4xx(await post('/v1/adapters', { name: 'bad', peft_dir: join(allowed, dir) }), 400, dir);
      expect(e.param).toBe('peft_dir');
      expect(e.code).toBe('invalid_adapter');
      for (const re of patterns) expect(e.message, dir).toMatch(re);
      expect((await post('/v1/completions', { model: `${BASE}:bad`, prompt: 'x' })).status).toBe(404);
      await stillServes();
    }
    // the name was not taken by the refused registrations
    expect((await post('/v1/adapters', { name: 'bad', peft_dir: join(allowed, 'a2') })).status).toBe(201);
    expect((await greedy(`${BASE}:bad`, PROMPTS[0])).choices[0].text).toBe((await greedy(`${BASE}:a2`, PROMPTS[0])).choices[0].text);
    expect((await fetch(`${url}/v1/adapters/bad`, { method: 'DELETE', headers: { authorization: auth.authorization } })).status).toBe(200);
  });

  it('a client that hangs up mid-stream: its row stops at the next token, the stream beside it and later requests are served', async () => {
    const maxTokens = maxPos - ntok(PROMPTS[0]);
    const whole = await greedy(BASE, PROMPTS[0], maxTokens);
    expect(whole.choices[0].finish_reason).toBe('length'); // the row would run to max_tokens if nobody stopped it
    const beside = await greedy(`${BASE}:a2`, PROMPTS[2], 40);

    const outcomes: Promise<DecodeOutcome[]>[] = [];
    const submit = s.scheduler.submit.bind(s.scheduler);
    s.scheduler.submit = (rows) => {
      const ps = submit(rows);
      outcomes.push(Promise.all(ps));
      return ps;
    };
    try {
      const ac = new AbortController();
      const hangUp = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: BASE, prompt: PROMPTS[0], max_tokens: maxTokens, temperature: 0, stream: true }),
        signal: ac.signal,
      });
      const other = client.completions.create({ model: `${BASE}:a2`, prompt: PROMPTS[2], max_tokens: 40, temperature: 0, stream: true });
      expect(hangUp.status).toBe(200);
      const reader = hangUp.body!.getReader();
      let got = '';
      while (!got.includes('"text":"')) got += new TextDecoder().decode((await reader.read()).value);
      ac.abort();
      const [gone] = await outcomes[0];
      expect(gone.finish).toBe('aborted');
      expect(gone.tokens).toBeLessThan(maxTokens);

      let text = '',
        finish: string | null = null;
      for await (const c of await other) {
        for (const ch of c.choices) {
          text += ch.text;
          finish = ch.finish_reason ?? finish;
        }
      }
      expect(text).toBe(beside.choices[0].text);
      expect(finish).toBe(beside.choices[0].finish_reason);
    } finally {
      // @ts-expect-error: the own property shadowing the prototype's method
      delete s.scheduler.submit;
    }
    while (s.scheduler.stats().running + s.scheduler.stats().queued > 0) await new Promise((r) => setTimeout(r, 2));
    await stillServes();
    expect((await greedy(BASE, PROMPTS[0], maxTokens)).choices[0].text).toBe(whole.choices[0].text);
  });
});

describe('completion server: repository adapters', () => {
  it('adapts a repository, and after a commit re-embeds only the changed file and swaps; a request in flight keeps its adapter', async () => {
    // a long collection window, so the commit lands while the request in flight still waits
    const rs = buildServer(served, config({ batchWindowMs: 1000 }));
    const ru = await listen(rs);
    const c2 = new OpenAI({ baseURL: `${ru}/v1`, apiKey: TOKEN, maxRetries: 0 });
    const ask = () => c2.completions.create({ model: `${BASE}:repo`, prompt: PROMPTS[3], max_tokens: 40, temperature: 0 });
    const rpost = (path: string, body: unknown) => fetch(`${ru}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    try {
      const repo = join(allowed, 'repo');
      const reg = await rpost('/v1/adapters', { name: 'repo', repo });
      expect(reg.status).toBe(201);
      const first = (await reg.json()) as { sha256: string; files: number };
      expect(first.files).toBe(4);
      const oldText = (await ask()).choices[0].text;

      // the head of the file changes (within the encoder's windows)
      writeFileSync(join(repo, 'pkg', 'm1.py'), `import os\nimport sys\n\nLIMIT = {"k": [9, 8, 7]}\n${code(1)}`);
      const inflight = ask();
      while (rs.scheduler.stats().queued === 0) await new Promise((r) => setTimeout(r, 1));
      const c = await rpost('/v1/repos/repo/commits', {});
      expect(c.status).toBe(200);
      expect(rs.scheduler.stats().queued).toBe(1); // the swap happened while the request waited
      const commit = (await c.json()) as {
        sha256: string;
        previous_sha256: string;
        changed: boolean;
        files: number;
        files_from_cache: number;
      };
      expect(commit.previous_sha256).toBe(first.sha256);
      expect(commit.changed).toBe(true);
      expect(commit.files).toBe(4);
      expect(commit.files_from_cache).toBe(3);
      expect((await inflight).choices[0].text).toBe(oldText);
      expect((await ask()).choices[0].text).not.toBe(oldText); // new requests get the new adapter
      const listed = (await (await fetch(`${ru}/v1/adapters`, { headers: auth })).json()) as { data: { name: string; sha256: string }[] };
      expect(listed.data.find((d) => d.name === 'repo')!.sha256).toBe(commit.sha256);
      expect((await rpost('/v1/repos/nope/commits', {})).status).toBe(404);
      expect((await post('/v1/repos/a1/commits', {})).status).toBe(409);
    } finally {
      await rs.app.close();
    }
  });
});

describe('completion server: limits and shutdown', () => {
  it('a full queue answers 429 with Retry-After; a request over its time limit 504', async () => {
    const slow = buildServer(served, config({ batchWindowMs: 1500, maxQueue: 2, timeoutMs: 300 }));
    const u = await listen(slow);
    const req = () =>
      fetch(`${u}/v1/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: BASE, prompt: 'x = 1', max_tokens: 2 }),
      });
    const waiting = [req(), req()];
    while (slow.scheduler.stats().queued < 2) await new Promise((r) => setTimeout(r, 2));
    const full = await req();
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBe('1');
    expect((await full.json()) as object).toMatchObject({ error: { type: 'rate_limit_error', code: 'queue_full' } });
    for (const w of await Promise.all(waiting)) expect(w.status).toBe(504);
    await slow.app.close();
  });

  it('closing lets a request in flight finish, then refuses connections', async () => {
    const srv = buildServer(served, config());
    const u = await listen(srv);
    const r = fetch(`${u}/v1/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: BASE, prompt: PROMPTS[0], max_tokens: 20, temperature: 0 }),
    });
    while (srv.scheduler.stats().queued + srv.scheduler.stats().running === 0) await new Promise((res) => setTimeout(res, 1));
    const closed = srv.app.close();
    const res = await r;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: unknown[] }).choices).toHaveLength(1);
    await closed;
    await expect(fetch(`${u}/health`)).rejects.toThrow();
  });
});
