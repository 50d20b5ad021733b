// GGUF v3 writer (the file format of llama.cpp / ggml), tensor-free: metadata and float tensors in,
// bytes out.
//
// Layout (little-endian):
//   "GGUF" | u32 version = 3 | u64 tensor count | u64 metadata count
//   metadata: string key | u32 value type | value        (string = u64 byte length + UTF-8 bytes;
//                                                         array = u32 item type + u64 count + items)
//   tensor infos: string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset
//   zero padding to `general.alignment` (32 unless the metadata says otherwise)
//   tensor data, each tensor starting at a multiple of the alignment (offsets relative to here)
// ne is ggml's dimension order, innermost first: a PyTorch [out, in] matrix has ne = [in, out]. Callers
// give PyTorch shapes; the writer reverses them.
import { writeFileAtomicSync } from '../util/atomic.js';
import { f32BitsToF16Bits } from './safetensors.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_NAME: tensor names longer than 63 bytes do not load. */
export const GGUF_MAX_NAME_BYTES = 63;

/** Metadata value types, numbered as in the GGUF spec. */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, 'array'>;

export type GgufValue =
  | { readonly type: Exclude<GgufScalarType, 'string' | 'bool'>; readonly value: number | bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'array'; readonly itemType: GgufScalarType; readonly values: ReadonlyArray<number | bigint | boolean | string> };

/** Value constructors: gguf.u32(3), gguf.str('llama'), gguf.arr('string', tokens), ... */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  u64: (value: number | bigint): GgufValue => ({ type: 'u64', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  arr: (itemType: GgufScalarType, values: ReadonlyArray<number | bigint | boolean | string>): GgufValue => ({
    type: 'array',
    itemType,
    values,
  }),
};

/** ggml tensor types this writer produces. */
export const GGML_TYPE = { F32: 0, F16: 1 } as const;
export type GgufTensorType = keyof typeof GGML_TYPE;

export interface GgufTensor {
  readonly name: string;
  /** PyTorch order, outermost first ([out, in] for a weight matrix). */
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** Storage type (default F32). */
  readonly type?: GgufTensorType;
}

export interface GgufFile {
  /** Metadata in file order; keys must be unique. */
  readonly metadata: ReadonlyArray<readonly [string, GgufValue]>;
  readonly tensors: readonly GgufTensor[];
}

const ELEMENT_BYTES: Readonly<Record<GgufTensorType, number>> = { F32: 4, F16: 2 };
const SCALAR_BYTES: Readonly<Record<Exclude<GgufScalarType, 'string'>, number>> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

const utf8 = new TextEncoder();
const pad = (n: number, align: number): number => (align - (n % align)) % align;

function fail(what: string, msg: string): never {
  throw new Error(`gguf: ${what}: ${msg}`);
}

function alignmentOf(metadata: GgufFile['metadata']): number {
  const a = metadata.find(([k]) => k === 'general.alignment');
  if (!a) return GGUF_DEFAULT_ALIGNMENT;
  const v = a[1];
  if (v.type !== 'u32' || typeof v.value !== 'number' || v.value <= 0 || v.value % 8 !== 0) {
    fail('general.alignment', `expected a u32 multiple of 8, got ${JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x))}`);
  }
  return v.value;
}

/** Checks one scalar against its type; returns its byte length. */
function checkScalar(where: string, type: GgufScalarType, v: unknown): number {
  if (type === 'string') {
    if (typeof v !== 'string') fail(where, `expected a string, got ${typeof v}`);
    return 8 + utf8.encode(v).length;
  }
  if (type === 'bool') {
    if (typeof v !== 'boolean') fail(where, `expected a boolean, got ${typeof v}`);
    return 1;
  }
  if (type === 'f32' || type === 'f64') {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `expected a finite ${type}, got ${String(v)}`);
    return SCALAR_BYTES[type];
  }
  const bits = SCALAR_BYTES[type] * 8;
  const signed = type.startsWith('i');
  const lo = signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const hi = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v))))
    fail(where, `expected an integer (${type}), got ${String(v)}`);
  const b = BigInt(v);
  if (b < lo || b > hi) fail(where, `${String(v)} does not fit ${type}`);
  return SCALAR_BYTES[type];
}

function valueBytes(key: string, v: GgufValue): number {
  if (!(v.type in GGUF_VALUE_TYPE)) fail(key, `unknown value type ${String(v.type)}`);
  if (v.type !== 'array') return checkScalar(key, v.type, v.value);
  if (!(v.itemType in GGUF_VALUE_TYPE) || (v.itemType as string) === 'array')
    fail(key, `unsupported array item type ${String(v.itemType)}`);
  let n = 4 + 8;
  for (let i = 0; i < v.values.length; i++) n += checkScalar(`${key}[${i}]`, v.itemType, v.values[i]);
  return n;
}

function tensorBytes(t: GgufTensor): number {
  const type = t.type ?? 'F32';
  if (!(type in GGML_TYPE)) fail(t.name, `unsupported tensor type ${String(type)} (F32 or F16)`);
  return t.data.length * ELEMENT_BYTES[type];
}

function checkTensor(t: GgufTensor, seen: Set<string>): void {
  const nameBytes = utf8.encode(t.name).length;
  if (nameBytes === 0) fail('(tensor)', 'empty tensor name');
  if (nameBytes > GGUF_MAX_NAME_BYTES) fail(t.name, `name is ${nameBytes} bytes, ggml allows ${GGUF_MAX_NAME_BYTES}`);
  if (seen.has(t.name)) fail(t.name, 'tensor name appears twice');
  seen.add(t.name);
  if (t.shape.length < 1 || t.shape.length > 4) fail(t.name, `expected 1 to 4 dimensions, got [${t.shape.join(', ')}]`);
  let n = 1;
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d <= 0) fail(t.name, `bad dimension in shape [${t.shape.join(', ')}]`);
    n *= d;
  }
  if (n !== t.data.length) fail(t.name, `shape [${t.shape.join(', ')}] holds ${n} values, data has ${t.data.length}`);
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i])) fail(t.name, `value ${t.data[i]} at element ${i} (NaN and infinities are refused)`);
  }
  if ((t.type ?? 'F32') === 'F16') {
    for (let i = 0; i < t.data.length; i++) {
      if (Math.abs(t.data[i]) > 65504) fail(t.name, `value ${t.data[i]} at element ${i} overflows float16`);
    }
  }
}

class Out {
  readonly buf: Buffer;
  pos = 0;
  constructor(n: number) {
    this.buf = Buffer.alloc(n);
  }
  u32(v: number): void {
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  u64(v: number | bigint): void {
    this.buf.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
  }
  str(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  scalar(type: GgufScalarType, v: number | bigint | boolean | string): void {
    const b = this.buf;
    switch (type) {
      case 'string':
        this.str(v as string);
        return;
      case 'bool':
        b.writeUInt8(v ? 1 : 0, this.pos);
        break;
      case 'u8':
        b.writeUInt8(Number(v), this.pos);
        break;
      case 'i8':
        b.writeInt8(Number(v), this.pos);
        break;
      case 'u16':
        b.writeUInt16LE(Number(v), this.pos);
        break;
      case 'i16':
        b.writeInt16LE(Number(v), this.pos);
        break;
      case 'u32':
        b.writeUInt32LE(Number(v), this.pos);
        break;
      case 'i32':
        b.writeInt32LE(Number(v), this.pos);
        break;
      case 'f32':
        b.writeFloatLE(Number(v), this.pos);
        break;
      case 'u64':
        b.writeBigUInt64LE(BigInt(v as number | bigint), this.pos);
        break;
      case 'i64':
        b.writeBigInt64LE(BigInt(v as number | bigint), this.pos);
        break;
      case 'f64':
        b.writeDoubleLE(Number(v), this.pos);
        break;
    }
    this.pos += SCALAR_BYTES[type];
  }
}

/** The file's bytes. Every value and tensor is checked first (errors name the key or tensor). */
export function encodeGguf(file: GgufFile): Uint8Array {
  const align = alignmentOf(file.metadata);
  const keys = new Set<string>();
  let size = 4 + 4 + 8 + 8;
  for (const [key, v] of file.metadata) {
    if (key.length === 0) fail('(metadata)', 'empty key');
    if (keys.has(key)) fail(key, 'metadata key appears twice');
    keys.add(key);
    size += 8 + utf8.encode(key).length + 4 + valueBytes(key, v);
  }
  const seen = new Set<string>();
  const offsets: number[] = [];
  let dataSize = 0;
  for (const t of file.tensors) {
    checkTensor(t, seen);
    size += 8 + utf8.encode(t.name).length + 4 + 8 * t.shape.length + 4 + 8;
    dataSize += pad(dataSize, align);
    offsets.push(dataSize);
    dataSize += tensorBytes(t);
  }
  const dataStart = size + pad(size, align);
  const out = new Out(dataStart + dataSize + pad(dataSize, align));
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(file.tensors.length);
  out.u64(file.metadata.length);
  for (const [key, v] of file.metadata) {
    out.str(key);
    out.u32(GGUF_VALUE_TYPE[v.type]);
    if (v.type === 'array') {
      out.u32(GGUF_VALUE_TYPE[v.itemType]);
      out.u64(v.values.length);
      for (const x of v.values) out.scalar(v.itemType, x);
    } else out.scalar(v.type, v.value);
  }
  file.tensors.forEach((t, i) => {
    out.str(t.name);
    out.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) out.u64(t.shape[d]); // ne: innermost first
    out.u32(GGML_TYPE[t.type ?? 'F32']);
    out.u64(offsets[i]);
  });
  file.tensors.forEach((t, i) => {
    const at = dataStart + offsets[i];
    if ((t.type ?? 'F32') === 'F32') {
      for (let j = 0; j < t.data.length; j++) out.buf.writeFloatLE(t.data[j], at + 4 * j);
    } else {
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      for (let j = 0; j < t.data.length; j++) out.buf.writeUInt16LE(f32BitsToF16Bits(bits[j]), at + 2 * j);
    }
  });
  return out.buf;
}

/** Writes a GGUF file atomically (temp file, fsync, rename): a reader never sees a partial file. */
export function writeGguf(file: string, contents: GgufFile): void {
  writeFileAtomicSync(file, encodeGguf(contents));
}
