import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bf16BitsToF32,
  f16BitsToF32,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  serializeSafetensors,
  writeSafetensors,
  type TensorToWrite,
} from './safetensors.js';
import { requiredTool } from '../../test/support/required-tool.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-st-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bitsOf(x: number): number {
  f32[0] = x;
  return u32[0];
}
function fromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0];
}
const toF16 = (x: number): number => f16BitsToF32(f32BitsToF16Bits(bitsOf(x)));
const toBf16 = (x: number): number => bf16BitsToF32(f32BitsToBf16Bits(bitsOf(x)));

/** A safetensors file from a raw header (object or text) and data length. */
function rawFile(header: unknown, dataLen: number, headerLenOverride?: bigint): Uint8Array {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, headerLenOverride ?? BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

describe('float conversions', () => {
  it('f16: round to nearest even, overflow, subnormals, specials', () => {
    expect(toF16(1 + 2 ** -11)).toBe(1); // tie -> even (down)
    expect(toF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie -> even (up)
    expect(toF16(1 + 2 ** -11 + 2 ** -20)).toBe(1 + 2 ** -10); // above tie -> up
    expect(toF16(65504)).toBe(65504);
    expect(toF16(65519)).toBe(65504);
    expect(toF16(65520)).toBe(Infinity); // tie between 65504 and 2^16 -> even = inf
    expect(toF16(-1e9)).toBe(-Infinity);
    expect(toF16(2 ** -24)).toBe(2 ** -24); // smallest subnormal
    expect(toF16(2 ** -25)).toBe(0); // tie -> even (0)
    expect(toF16(2 ** -25 * 1.01)).toBe(2 ** -24);
    expect(toF16(3 * 2 ** -25)).toBe(2 * 2 ** -24); // tie, odd mantissa -> up
    expect(toF16(5 * 2 ** -25)).toBe(2 * 2 ** -24); // tie, even mantissa -> down
    expect(toF16(1023.5 * 2 ** -24)).toBe(2 ** -14); // largest subnormal rounds up into the normals
    expect(toF16(123.456 * 2 ** -24)).toBe(123 * 2 ** -24);
    expect(toF16(1e-30)).toBe(0);
    expect(Object.is(toF16(-0), -0)).toBe(true);
    expect(Object.is(toF16(-1e-30), -0)).toBe(true);
    expect(toF16(Infinity)).toBe(Infinity);
    expect(toF16(-Infinity)).toBe(-Infinity);
    expect(Number.isNaN(toF16(NaN))).toBe(true);
    expect(Number.isNaN(toF16(fromBits(0x7f800001)))).toBe(true); // NaN payload only in low bits
    expect(f16BitsToF32(0x7c01)).toBeNaN();
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x8400)).toBe(-(2 ** -14));
  });

  it('f16: every f16 value survives f16 -> f32 -> f16 unchanged', () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32BitsToF16Bits(bitsOf(f16BitsToF32(h)));
      const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNan) expect((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0).toBe(true);
      else if (back !== h) throw new Error(`f16 ${h.toString(16)} came back as ${back.toString(16)}`);
    }
  });

  it('bf16: round to nearest even, overflow, subnormals, specials', () => {
    expect(toBf16(1 + 2 ** -8)).toBe(1);
    expect(toBf16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(toBf16(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7);
    expect(toBf16(fromBits(0x7f7fffff))).toBe(Infinity); // f32 max rounds past bf16 max
    expect(toBf16(fromBits(0x7f7f0000))).toBe(fromBits(0x7f7f0000));
    expect(toBf16(fromBits(0x00008000))).toBe(0); // subnormal tie -> even
    expect(toBf16(fromBits(0x00018000))).toBe(fromBits(0x00020000));
    expect(toBf16(fromBits(0x00010000))).toBe(fromBits(0x00010000)); // bf16 subnormal kept
    expect(Object.is(toBf16(-0), -0)).toBe(true);
    expect(toBf16(-Infinity)).toBe(-Infinity);
    expect(Number.isNaN(toBf16(NaN))).toBe(true);
    expect(Number.isNaN(toBf16(fromBits(0x7f800001)))).toBe(true); // would round to inf if not special-cased
  });
});

describe('safetensors round trip', () => {
  const vals = new Float32Array([0, -0, 1, -2.5, 0.15625, 1024, -65504, 2 ** -24, 3.140625]); // all exact in f16
  it('F32/F16/BF16 per tensor, metadata, empty and scalar tensors', () => {
    const tensors = new Map<string, TensorToWrite>([
      ['b.f32', { shape: [3, 3], data: vals }],
      ['a.f16', { shape: [9], data: vals, dtype: 'F16' }],
      ['c.bf16', { shape: [1, 9], data: new Float32Array([0, -0, 1, -2.5, 0.15625, 1024, -65536, 2 ** -100, 3.140625]), dtype: 'BF16' }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
      ['scalar', { shape: [], data: new Float32Array([7]) }],
      ['ids', { shape: [2], data: new Int32Array([-5, 2 ** 31 - 1]) }],
    ]);
    const file = path.join(tmp, 'rt.safetensors');
    writeSafetensors(file, tensors, { metadata: { format: 'pt', z: 'last' } });
    const back = readSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt', z: 'last' });
    expect([...back.tensors.keys()]).toEqual(['a.f16', 'b.f32', 'c.bf16', 'empty', 'ids', 'scalar']);
    for (const [name, t] of tensors) {
      const got = back.tensors.get(name)!;
      expect(got.shape, name).toEqual(t.shape);
      expect(got.dtype, name).toBe(t.data instanceof Int32Array ? 'I32' : (t.dtype ?? 'F32'));
      expect(Array.from(got.data), name).toEqual(Array.from(t.data));
      expect(Object.is(got.data[1], t.data[1]), `${name} keeps -0`).toBe(true);
    }
    // parse from memory gives the same, F32 as a view of the bytes
    const bytes = fs.readFileSync(file);
    const parsed = parseSafetensors(bytes, file);
    expect(parsed.tensors.get('b.f32')!.data.buffer).toBe(bytes.buffer);
    expect(Array.from(parsed.tensors.get('c.bf16')!.data)).toEqual(Array.from(tensors.get('c.bf16')!.data));
  });

  it('writer default dtype applies to tensors without their own and rounds', () => {
    const x = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000]);
    const p = parseSafetensors(serializeSafetensors(new Map([['x', { shape: [3], data: x }]]), undefined, 'F16'), 'mem');
    expect(p.tensors.get('x')!.dtype).toBe('F16');
    expect(Array.from(p.tensors.get('x')!.data)).toEqual([1, 1 + 2 ** -9, Infinity]);
  });

  it('header sorted, padded with spaces to 8 bytes, data aligned per dtype', () => {
    const bytes = serializeSafetensors(
      {
        zeta: { shape: [3], data: new Float32Array(3), dtype: 'F16' },
        alpha: { shape: [1], data: new Float32Array(1) },
        mid: { shape: [2], data: new Float32Array(2), dtype: 'BF16' },
      },
      { format: 'pt' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const header = JSON.parse(text) as Record<string, { data_offsets: number[] }>;
    expect(Object.keys(header)).toEqual(['__metadata__', 'alpha', 'mid', 'zeta']);
    expect(header.alpha.data_offsets).toEqual([0, 4]); // F32 first, then 2-byte dtypes by name
    expect(header.mid.data_offsets).toEqual([4, 8]);
    expect(header.zeta.data_offsets).toEqual([8, 14]);
    const h = readSafetensorsHeader(writeTemp('hdr.safetensors', bytes));
    expect(h.dataStart).toBe(8 + n);
    expect(h.entries.map((e) => e.name)).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('F32 data at an unaligned offset is copied, not mis-read', () => {
    const bytes = serializeSafetensors({ w: { shape: [4], data: new Float32Array([1, 2, 3, 4]) } });
    const holder = new Uint8Array(bytes.length + 1);
    holder.set(bytes, 1);
    const p = parseSafetensors(holder.subarray(1), 'unaligned');
    expect(Array.from(p.tensors.get('w')!.data)).toEqual([1, 2, 3, 4]);
    expect(p.tensors.get('w')!.data.buffer).not.toBe(holder.buffer);
  });

  it('reads I64 (fits in int32) and refuses values that do not', () => {
    const ok = rawFile({ t: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16);
    const dv = new DataView(ok.buffer, ok.length - 16);
    dv.setBigInt64(0, -3n, true);
    dv.setBigInt64(8, 2147483647n, true);
    const t = parseSafetensors(ok, 'i64.safetensors').tensors.get('t')!;
    expect(t.dtype).toBe('I64');
    expect(t.data).toBeInstanceOf(Int32Array);
    expect(Array.from(t.data)).toEqual([-3, 2147483647]);
    dv.setBigInt64(8, 2147483648n, true);
    expect(() => parseSafetensors(ok, 'i64.safetensors')).toThrow(/i64\.safetensors.*"t".*2147483648.*int32/);
  });

  it('writer rejects a shape that does not match the data, naming the tensor', () => {
    expect(() => serializeSafetensors({ bad: { shape: [2, 3], data: new Float32Array(5) } })).toThrow(/"bad".*\[2, 3\].*6.*5/);
  });
});

function writeTemp(name: string, bytes: Uint8Array): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, bytes);
  return p;
}

describe('corrupt safetensors: errors name the file and the tensor', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['short', new Uint8Array(5), /5 bytes, shorter than the 8-byte/],
    ['header past end', rawFile('{}', 0, 1000n), /header length 1000 runs past the end/],
    ['absurd header', rawFile('{}', 0, 1n << 40n), /exceeds the 100000000-byte limit/],
    ['not json', rawFile('{"a": ', 0), /not valid JSON/],
    ['not an object', rawFile('[1,2]', 0), /must be a JSON object, got array/],
    ['unknown dtype', rawFile({ w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w": unknown dtype "F17"/],
    ['unsupported dtype', rawFile({ w: { dtype: 'U16', shape: [1], data_offsets: [0, 2] } }, 2), /tensor "w": unsupported dtype U16/],
    [
      'negative dim',
      rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4),
      /tensor "w": shape \[-1\] has an invalid dimension/,
    ],
    ['fractional dim', rawFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), /tensor "w": shape \[1.5\]/],
    [
      'size mismatch',
      rawFile({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 16),
      /tensor "w": data_offsets \[0, 12\] span 12 bytes, expected 16/,
    ],
    [
      'outside buffer',
      rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 12),
      /tensor "w": data_offsets \[8, 16\] lie outside the 12-byte data buffer/,
    ],
    [
      'overlap',
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12),
      /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/,
    ],
    ['bad offsets', rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /tensor "w": data_offsets must be two/],
    ['bad metadata', rawFile({ __metadata__: { n: 1 } }, 0), /"__metadata__" value for "n" must be a string/],
  ];
  for (const [label, bytes, re] of cases) {
    it(label, () => {
      const file = writeTemp(`${label.replace(/ /g, '_')}.safetensors`, bytes);
      expect(() => readSafetensors(file)).toThrow(re);
      expect(() => readSafetensors(file)).toThrow(file);
      expect(() => parseSafetensors(bytes, 'mem:' + label)).toThrow(re);
      expect(() => parseSafetensors(bytes, 'mem:' + label)).toThrow('mem:' + label);
    });
  }
  it('missing file names the path', () => {
    expect(() => readSafetensors(path.join(tmp, 'nope.safetensors'))).toThrow(/nope\.safetensors/);
  });
});

// --- cross-check with Python (json + struct + numpy; torch for bf16) --------------------------------

const PY = '/usr/bin/python3';
const hasTorch = requiredTool(
  `PyTorch and NumPy (${PY} -c "import torch, numpy")`,
  ((): boolean => {
    try {
      return spawnSync(PY, ['-c', 'import torch, numpy'], { timeout: 15_000 }).status === 0;
    } catch {
      return false;
    }
  })(),
  'apt-get install python3-torch python3-numpy (scripts/setup does)',
);

const PY_LIB = `
import json, struct, sys, numpy as np, torch
NP = {'F32': np.float32, 'F16': np.float16, 'I32': np.int32}
def read(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n]); buf = b[8 + n:]; out = {}
    for k, v in h.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']; raw = buf[s:e]
        if v['dtype'] == 'BF16':
            a = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, NP[v['dtype']])
        out[k] = {'dtype': v['dtype'], 'shape': v['shape'], 'data': [repr(float(x)) for x in a.astype(np.float64)]}
    return h.get('__metadata__', {}), out
def write(path, tensors, meta):
    h = {'__metadata__': meta}; blobs = []; off = 0
    for k, (dt, shape, arr) in tensors.items():
        raw = arr.tobytes(); h[k] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    hb = json.dumps(h).encode(); hb += b' ' * ((8 - len(hb) % 8) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(hb)) + hb + b''.join(blobs))
`;

function runPy(code: string): string {
  const r = spawnSync(PY, ['-c', PY_LIB + code], { timeout: 30_000, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!hasTorch)(`python cross-check (${hasTorch ? 'torch found' : `skipped: ${PY} cannot import torch`})`, () => {
  it('python reads what we write, we read what python writes, rounding matches torch bit for bit', () => {
    // Values with edge cases for both half formats plus pseudo-random ones.
    const vals: number[] = [
      0,
      -0,
      1,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      1 + 2 ** -8,
      1 + 3 * 2 ** -8,
      65504,
      65519,
      65520,
      2 ** -24,
      2 ** -25,
      3 * 2 ** -25,
      1023.5 * 2 ** -24,
      1e-30,
      -1e9,
      Infinity,
      -Infinity,
      fromBits(0x7f7fffff),
      fromBits(0x00018000),
      3.3895e38,
    ];
    let s = 12345;
    for (let i = 0; i < 200; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      vals.push(Math.fround((s / 2 ** 31 - 0.5) * 2 ** ((i % 40) - 20)));
    }
    const x = Float32Array.from(vals);
    const ours = path.join(tmp, 'ours.safetensors');
    writeSafetensors(
      ours,
      new Map<string, TensorToWrite>([
        ['x32', { shape: [x.length], data: x }],
        ['x16', { shape: [x.length], data: x, dtype: 'F16' }],
        ['xb16', { shape: [x.length], data: x, dtype: 'BF16' }],
      ]),
      { metadata: { who: 'code2lora' } },
    );
    const theirs = path.join(tmp, 'theirs.safetensors');
    fs.writeFileSync(path.join(tmp, 'vals.json'), JSON.stringify(Array.from(new Uint32Array(x.buffer)))); // bits: keeps -0, inf
    const out = runPy(`
meta, t = read(${JSON.stringify(ours)})
vals = np.array(json.load(open(${JSON.stringify(path.join(tmp, 'vals.json'))})), np.uint32).view(np.float32)
x = torch.from_numpy(vals.copy())
x16 = x.to(torch.float16); xb = x.to(torch.bfloat16)
write(${JSON.stringify(theirs)}, {'py32': ('F32', [len(vals)], x.numpy()), 'py16': ('F16', [len(vals)], x16.numpy()),
      'pyb16': ('BF16', [len(vals)], xb.view(torch.int16).numpy()), 'pyi': ('I32', [2, 2], np.array([1, -2, 3, 2**31 - 1], np.int32))},
      {'format': 'pt'})
print(json.dumps({'meta': meta, 't': t,
  'bits16': x16.view(torch.int16).numpy().astype(np.uint16).tolist(),
  'bitsb16': xb.view(torch.int16).numpy().astype(np.uint16).tolist()}))
`);
    const res = JSON.parse(out) as {
      meta: Record<string, string>;
      t: Record<string, { dtype: string; shape: number[]; data: string[] }>;
      bits16: number[];
      bitsb16: number[];
    };
    expect(res.meta).toEqual({ who: 'code2lora' });
    const pyNum = (r: string): number => (r === 'inf' ? Infinity : r === '-inf' ? -Infinity : r === 'nan' ? NaN : Number(r));
    // Python decoded our bytes to the same numbers we meant.
    expect(res.t.x32.data.map(pyNum)).toEqual(Array.from(x));
    expect(res.t.x16.data.map(pyNum)).toEqual(Array.from(x, toF16));
    expect(res.t.xb16.data.map(pyNum)).toEqual(Array.from(x, toBf16));
    expect(res.t.x16.shape).toEqual([x.length]);
    // Our rounding is torch's rounding, bit for bit.
    expect(Array.from(x, (v) => f32BitsToF16Bits(bitsOf(v)))).toEqual(res.bits16);
    expect(Array.from(x, (v) => f32BitsToBf16Bits(bitsOf(v)))).toEqual(res.bitsb16);
    // We read python's file.
    const back = readSafetensors(theirs);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(Array.from(back.tensors.get('py32')!.data)).toEqual(Array.from(x));
    expect(Array.from(back.tensors.get('py16')!.data)).toEqual(Array.from(x, toF16));
    expect(Array.from(back.tensors.get('pyb16')!.data)).toEqual(Array.from(x, toBf16));
    expect(back.tensors.get('pyi')!.shape).toEqual([2, 2]);
    expect(Array.from(back.tensors.get('pyi')!.data)).toEqual([1, -2, 3, 2 ** 31 - 1]);
  });
});
