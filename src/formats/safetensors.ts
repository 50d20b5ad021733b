// safetensors reader and writer.
//
// Layout: [u64 little-endian N][N bytes of JSON header][raw little-endian tensor bytes].
// Header: { "__metadata__": {str: str}, name: {dtype, shape, data_offsets: [begin, end]}, ... } with
// offsets relative to the start of the byte buffer that follows the header.
//
// Reading converts every float dtype to Float32Array and every integer dtype to Int32Array (error
// when a value does not fit). F32 tensors parsed from memory are zero-copy views when 4-byte aligned;
// mutating such a view mutates the source bytes. Writing picks a dtype per tensor (F32, F16, BF16 for
// floats, I32 for Int32Array) with round-to-nearest-even conversion.
import * as fs from 'node:fs';
import { writeFileAtomicSync } from '../util/atomic.js';

/** Float dtypes we can write (and read). */
export type SafetensorsFloatDtype = 'F32' | 'F16' | 'BF16';
/** Every dtype we can read. Floats become Float32Array, integers Int32Array. */
export type SafetensorsReadFloatDtype = SafetensorsFloatDtype | 'F64';
export type SafetensorsIntDtype = 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export type SafetensorsDtype = SafetensorsReadFloatDtype | SafetensorsIntDtype;

export interface FloatTensor {
  readonly dtype: SafetensorsReadFloatDtype;
  readonly shape: number[];
  readonly data: Float32Array;
}
export interface IntTensor {
  readonly dtype: SafetensorsIntDtype;
  readonly shape: number[];
  readonly data: Int32Array;
}
export type SafetensorsTensor = FloatTensor | IntTensor;

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A tensor to write; `dtype` overrides the writer's default for this tensor. */
export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  readonly dtype?: SafetensorsFloatDtype | 'I32';
}
export type TensorMapLike<T> = ReadonlyMap<string, T> | Readonly<Record<string, T>>;

export interface WriteSafetensorsOptions {
  metadata?: Record<string, string>;
  /** Dtype for float tensors that do not name their own (default F32). */
  dtype?: SafetensorsFloatDtype;
}

/** One validated header entry. `begin`/`end` are relative to the data buffer. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data buffer from the start of the file (8 + N). */
  dataStart: number;
}

/** Header larger than this is treated as corrupt (the reference implementation uses 100 MB too). */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
});
/** Known to the format but not readable here: named in errors so they are not called "unknown". */
const KNOWN_UNSUPPORTED = new Set(['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64', 'I4', 'U4']);

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function requireLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported');
}

export function dtypeByteSize(dtype: SafetensorsDtype): number {
  return DTYPE_SIZE[dtype];
}

export function isFloatTensor(t: SafetensorsTensor): t is FloatTensor {
  return t.data instanceof Float32Array;
}

/** The tensor's data as Float32Array, or an error naming source and tensor if it is an integer tensor. */
export function floatData(t: SafetensorsTensor, name: string, source: string): Float32Array {
  if (!isFloatTensor(t)) {
    throw new Error(`safetensors: ${source}: tensor "${name}" has integer dtype ${t.dtype}, expected a float dtype`);
  }
  return t.data;
}

// ---------------------------------------------------------------------------------------------
// float16 / bfloat16 conversion (bit-exact, round-to-nearest-even)

let f16Table: Float32Array | null = null;
/** 65536-entry table: f16 bits -> f32 value (exact; NaN payloads preserved). */
function getF16Table(): Float32Array {
  if (f16Table) return f16Table;
  const bits = new Uint32Array(65536);
  const vals = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) {
      if (m === 0) bits[h] = sign >>> 0;
      else vals[h] = (sign ? -1 : 1) * m * 2 ** -24; // subnormal, exact in f32
    } else if (e === 31) {
      bits[h] = (sign | 0x7f800000 | (m << 13)) >>> 0;
    } else {
      bits[h] = (sign | ((e - 15 + 127) << 23) | (m << 13)) >>> 0;
    }
  }
  f16Table = vals;
  return vals;
}

/** f32 bit pattern -> f16 bit pattern, round-to-nearest-even, overflow to inf, NaN stays NaN. */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // f16 subnormal: value = m * 2^-24, m = (1.mant as integer) >> (14 - e)
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal: rounds to zero
    const full = mant | 0x800000;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m; // m may reach 0x400: the smallest normal, encoded correctly
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1) === 1)) m++;
  return sign | ((e << 10) + m); // a carry out of m bumps the exponent (up to inf)
}

/** f32 bit pattern -> bf16 bit pattern, round-to-nearest-even, NaN stays (quiet) NaN. */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const bias = 0x7fff + ((x >>> 16) & 1);
  return (((x >>> 0) + bias) >>> 16) & 0xffff;
}

export function f16BitsToF32(h: number): number {
  return getF16Table()[h & 0xffff];
}
export function bf16BitsToF32(b: number): number {
  const u = new Uint32Array([(b & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0];
}

// ---------------------------------------------------------------------------------------------
// header parsing

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validate the 8-byte prefix and return the header length N.
 * `fileSize` is the total size of the file (or byte array).
 */
function checkPrefix(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8) {
    throw new Error(`safetensors: ${source}: file is ${fileSize} bytes, shorter than the 8-byte header length`);
  }
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`safetensors: ${source}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt file?)`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new Error(`safetensors: ${source}: header length ${len} runs past the end of the file (${fileSize} bytes)`);
  }
  if (len < 2) throw new Error(`safetensors: ${source}: header length ${len} is too small for a JSON object`);
  return len;
}

function parseHeaderJson(headerBytes: Uint8Array, source: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`safetensors: ${source}: header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`safetensors: ${source}: header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) {
    const got = Array.isArray(json) ? 'array' : json === null ? 'null' : typeof json;
    throw new Error(`safetensors: ${source}: header must be a JSON object, got ${got}`);
  }
  return json;
}

/**
 * Validate a parsed header against a data buffer of `bufferLen` bytes: dtypes, shapes, offsets
 * (size matches shape*dtype, inside the buffer, no overlaps). Returns entries sorted by offset.
 */
export function validateSafetensorsHeader(
  json: Record<string, unknown>,
  bufferLen: number,
  source: string,
): { entries: SafetensorsEntry[]; metadata: Record<string, string> } {
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw)) throw new Error(`safetensors: ${source}: "__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') {
          throw new Error(`safetensors: ${source}: "__metadata__" value for "${k}" must be a string, got ${typeof v}`);
        }
        metadata[k] = v;
      }
      continue;
    }
    const where = `safetensors: ${source}: tensor "${name}"`;
    if (!isPlainObject(raw)) throw new Error(`${where}: header entry must be an object`);
    const dtype = raw.dtype;
    if (typeof dtype !== 'string') throw new Error(`${where}: missing or non-string dtype`);
    if (!(dtype in DTYPE_SIZE)) {
      if (KNOWN_UNSUPPORTED.has(dtype)) throw new Error(`${where}: unsupported dtype ${dtype}`);
      throw new Error(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    }
    const dt = dtype as SafetensorsDtype;
    const shape = raw.shape;
    if (!Array.isArray(shape)) throw new Error(`${where}: shape must be an array, got ${JSON.stringify(shape)}`);
    let numel = 1;
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        throw new Error(
          `${where}: shape ${JSON.stringify(shape)} has an invalid dimension ${JSON.stringify(d)} (need non-negative integers)`,
        );
      }
      numel *= d;
      if (numel > Number.MAX_SAFE_INTEGER) throw new Error(`${where}: shape ${JSON.stringify(shape)} is absurdly large`);
    }
    const offs = raw.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
      throw new Error(`${where}: data_offsets must be two non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw new Error(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const expected = numel * DTYPE_SIZE[dt];
    if (end - begin !== expected) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, expected ${expected} for ${dt} shape [${shape.join(', ')}]`,
      );
    }
    if (end > bufferLen) {
      throw new Error(`${where}: data_offsets [${begin}, ${end}] lie outside the ${bufferLen}-byte data buffer`);
    }
    entries.push({ name, dtype: dt, shape: shape.slice() as number[], numel, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: SafetensorsEntry | null = null;
  for (const e of entries) {
    if (e.end === e.begin) continue; // empty tensors occupy no bytes
    if (prev && e.begin < prev.end) {
      throw new Error(
        `safetensors: ${source}: tensors "${prev.name}" [${prev.begin}, ${prev.end}] and "${e.name}" [${e.begin}, ${e.end}] overlap`,
      );
    }
    prev = e;
  }
  return { entries, metadata };
}

/** Parse and validate only the header of an in-memory safetensors file. */
export function parseSafetensorsHeader(bytes: Uint8Array, sourceName: string): SafetensorsHeader {
  const n = checkPrefix(bytes, bytes.byteLength, sourceName);
  const json = parseHeaderJson(bytes.subarray(8, 8 + n), sourceName);
  const { entries, metadata } = validateSafetensorsHeader(json, bytes.byteLength - 8 - n, sourceName);
  return { entries, metadata, dataStart: 8 + n };
}

// ---------------------------------------------------------------------------------------------
// decoding

/** A typed view of `raw` when aligned, else of an aligned copy. */
function alignedView<T>(raw: Uint8Array, elemSize: number, make: (buf: ArrayBufferLike, off: number, len: number) => T): T {
  const n = raw.byteLength / elemSize;
  if (raw.byteOffset % elemSize === 0) return make(raw.buffer, raw.byteOffset, n);
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return make(copy.buffer, 0, n);
}

/** Decode one tensor's raw bytes. F32/I32 may return views of `raw` (see header comment). */
function decodeTensor(raw: Uint8Array, e: SafetensorsEntry, source: string): SafetensorsTensor {
  requireLittleEndianHost();
  const n = e.numel;
  switch (e.dtype) {
    case 'F32':
      return { dtype: 'F32', shape: e.shape, data: alignedView(raw, 4, (b, o, l) => new Float32Array(b, o, l)) };
    case 'F64': {
      const src = alignedView(raw, 8, (b, o, l) => new Float64Array(b, o, l));
      return { dtype: 'F64', shape: e.shape, data: Float32Array.from(src) };
    }
    case 'F16': {
      const src = alignedView(raw, 2, (b, o, l) => new Uint16Array(b, o, l));
      const table = getF16Table();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return { dtype: 'F16', shape: e.shape, data: out };
    }
    case 'BF16': {
      const src = alignedView(raw, 2, (b, o, l) => new Uint16Array(b, o, l));
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return { dtype: 'BF16', shape: e.shape, data: out };
    }
    case 'I32':
      return { dtype: 'I32', shape: e.shape, data: alignedView(raw, 4, (b, o, l) => new Int32Array(b, o, l)) };
    case 'I64': {
      const src = alignedView(raw, 4, (b, o, l) => new Int32Array(b, o, l)); // 2n values: (lo, hi) pairs
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = src[2 * i];
        const hi = src[2 * i + 1];
        if (hi !== lo >> 31) {
          const v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
          throw new Error(`safetensors: ${source}: tensor "${e.name}": I64 value ${v} at index ${i} does not fit in int32`);
        }
        out[i] = lo;
      }
      return { dtype: 'I64', shape: e.shape, data: out };
    }
    case 'I16': {
      const src = alignedView(raw, 2, (b, o, l) => new Int16Array(b, o, l));
      return { dtype: 'I16', shape: e.shape, data: Int32Array.from(src) };
    }
    case 'I8':
      return { dtype: 'I8', shape: e.shape, data: Int32Array.from(new Int8Array(raw.buffer, raw.byteOffset, n)) };
    case 'U8':
      return { dtype: 'U8', shape: e.shape, data: Int32Array.from(raw) };
    case 'BOOL': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = raw[i];
        if (v > 1) throw new Error(`safetensors: ${source}: tensor "${e.name}": BOOL byte ${v} at index ${i} is not 0 or 1`);
        out[i] = v;
      }
      return { dtype: 'BOOL', shape: e.shape, data: out };
    }
  }
}

/** Parse an in-memory safetensors file. `sourceName` is used in error messages (a path, usually). */
export function parseSafetensors(bytes: Uint8Array, sourceName: string): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, sourceName);
  const tensors = new Map<string, SafetensorsTensor>();
  const base = header.dataStart;
  for (const e of [...header.entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    tensors.set(e.name, decodeTensor(bytes.subarray(base + e.begin, base + e.end), e, sourceName));
  }
  return { tensors, metadata: header.metadata };
}

function readFully(fd: number, buf: Uint8Array, position: number, source: string, what: string): void {
  let off = 0;
  while (off < buf.byteLength) {
    const n = fs.readSync(fd, buf, off, buf.byteLength - off, position + off);
    if (n === 0) throw new Error(`safetensors: ${source}: file truncated while reading ${what}`);
    off += n;
  }
}

/** Read and validate only the header of a safetensors file (cheap, for large checkpoints). */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  const fd = openForRead(path);
  try {
    return readHeaderFd(fd, path);
  } finally {
    fs.closeSync(fd);
  }
}

function openForRead(path: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (err) {
    throw new Error(`safetensors: cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function readHeaderFd(fd: number, path: string): SafetensorsHeader {
  const size = fs.fstatSync(fd).size;
  const prefix = new Uint8Array(8);
  if (size >= 8) readFully(fd, prefix, 0, path, 'the header length');
  const n = checkPrefix(prefix, size, path);
  const headerBytes = new Uint8Array(n);
  readFully(fd, headerBytes, 8, path, 'the header');
  const json = parseHeaderJson(headerBytes, path);
  const { entries, metadata } = validateSafetensorsHeader(json, size - 8 - n, path);
  return { entries, metadata, dataStart: 8 + n };
}

/**
 * Read a safetensors file. Each tensor is read straight into its own buffer (F32 needs no extra
 * copy), so files larger than Node's 2 GiB readFile limit work too.
 */
export function readSafetensors(path: string): SafetensorsFile {
  const fd = openForRead(path);
  try {
    const header = readHeaderFd(fd, path);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const e of [...header.entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      // Allocate with 8-byte alignment so every dtype's view is aligned.
      const raw = new Uint8Array(new Float64Array(Math.ceil((e.end - e.begin) / 8)).buffer, 0, e.end - e.begin);
      readFully(fd, raw, header.dataStart + e.begin, path, `tensor "${e.name}"`);
      tensors.set(e.name, decodeTensor(raw, e, path));
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// writing

function entriesOf<T>(m: TensorMapLike<T>): Array<[string, T]> {
  return m instanceof Map ? [...(m as ReadonlyMap<string, T>).entries()] : Object.entries(m as Record<string, T>);
}

interface PlannedTensor {
  name: string;
  dtype: SafetensorsFloatDtype | 'I32';
  shape: number[];
  src: Float32Array | Int32Array;
}

function planTensors(tensors: TensorMapLike<TensorToWrite>, dtype: SafetensorsFloatDtype): PlannedTensor[] {
  const planned: PlannedTensor[] = [];
  for (const [name, t] of entriesOf(tensors)) {
    const where = `safetensors: tensor "${name}"`;
    if (name.length === 0 || name === '__metadata__') throw new Error(`${where}: invalid tensor name`);
    let numel = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new Error(`${where}: invalid shape [${t.shape.join(', ')}]`);
      numel *= d;
    }
    if (numel !== t.data.length) {
      throw new Error(`${where}: shape [${t.shape.join(', ')}] has ${numel} elements but data has ${t.data.length}`);
    }
    let dt: SafetensorsFloatDtype | 'I32';
    if (t.data instanceof Int32Array) {
      if (t.dtype !== undefined && t.dtype !== 'I32') throw new Error(`${where}: Int32Array data cannot be written as ${t.dtype}`);
      dt = 'I32';
    } else if (t.data instanceof Float32Array) {
      dt = t.dtype ?? dtype;
      if (dt === 'I32') throw new Error(`${where}: Float32Array data cannot be written as I32`);
    } else {
      throw new Error(`${where}: data must be a Float32Array or Int32Array`);
    }
    if (!(dt in DTYPE_SIZE)) throw new Error(`${where}: cannot write dtype ${String(dt)}`);
    planned.push({ name, dtype: dt, shape: [...t.shape], src: t.data });
  }
  return planned;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Serialize tensors to safetensors bytes. Data is laid out largest dtype first, then by name (as
 * the reference writer does), so every tensor's data is aligned to its element size; the header is
 * padded with spaces to a multiple of 8 bytes; header keys are sorted with `__metadata__` first.
 */
export function serializeSafetensors(
  tensors: TensorMapLike<TensorToWrite>,
  metadata?: Record<string, string>,
  dtype: SafetensorsFloatDtype = 'F32',
): Uint8Array {
  requireLittleEndianHost();
  if (!(dtype === 'F32' || dtype === 'F16' || dtype === 'BF16')) throw new Error(`safetensors: cannot write dtype ${String(dtype)}`);
  const planned = planTensors(tensors, dtype);
  const layout = [...planned].sort((a, b) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype] || byName(a, b));
  const offsets = new Map<string, [number, number]>();
  let pos = 0;
  for (const p of layout) {
    const size = p.src.length * DTYPE_SIZE[p.dtype];
    offsets.set(p.name, [pos, pos + size]);
    pos += size;
  }
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    const md: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) {
      if (typeof metadata[k] !== 'string') throw new Error(`safetensors: metadata value for "${k}" must be a string`);
      md[k] = metadata[k];
    }
    header.__metadata__ = md;
  }
  for (const p of [...planned].sort(byName)) {
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: offsets.get(p.name) };
  }
  const headerText = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(headerText.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + pos);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(headerText, 8);
  out.fill(0x20, 8 + headerText.byteLength, 8 + padded);
  const base = 8 + padded; // a multiple of 8, and `out` starts at offset 0 of its buffer
  for (const p of layout) {
    const [begin, end] = offsets.get(p.name)!;
    const at = base + begin;
    const n = p.src.length;
    if (p.dtype === 'F32' || p.dtype === 'I32') {
      out.set(new Uint8Array(p.src.buffer, p.src.byteOffset, end - begin), at);
    } else {
      const src = p.src as Float32Array;
      const bits = new Uint32Array(src.buffer, src.byteOffset, n);
      const dst = new Uint16Array(out.buffer, at, n);
      if (p.dtype === 'F16') for (let i = 0; i < n; i++) dst[i] = f32BitsToF16Bits(bits[i]);
      else for (let i = 0; i < n; i++) dst[i] = f32BitsToBf16Bits(bits[i]);
    }
  }
  return out;
}

/** Serialize and write atomically (temp file + fsync + rename). */
export function writeSafetensors(path: string, tensors: TensorMapLike<TensorToWrite>, options: WriteSafetensorsOptions = {}): void {
  writeFileAtomicSync(path, serializeSafetensors(tensors, options.metadata, options.dtype ?? 'F32'));
}
