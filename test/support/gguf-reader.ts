// A small GGUF v3 reader, for tests only: checks what src/formats/gguf.ts writes (magic, version,
// counts, every metadata value, tensor infos, alignment of every tensor's data, F32/F16 payloads).
import { GGUF_MAGIC, GGUF_VALUE_TYPE, GGML_TYPE, type GgufScalarType, type GgufTensorType } from '../../src/formats/gguf.js';
import { f16BitsToF32 } from '../../src/formats/safetensors.js';

export interface ReadGguf {
  version: number;
  metadata: Map<string, { type: string; itemType?: string; value: unknown }>;
  tensors: Map<string, { shape: number[]; ne: number[]; type: GgufTensorType; offset: number; data: Float32Array }>;
  alignment: number;
  dataStart: number;
}

const TYPE_NAME = new Map<number, string>(Object.entries(GGUF_VALUE_TYPE).map(([k, v]) => [v, k]));
const GGML_NAME = new Map<number, GgufTensorType>(Object.entries(GGML_TYPE).map(([k, v]) => [v, k as GgufTensorType]));

export function readGguf(bytes: Uint8Array): ReadGguf {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new Error(`gguf read: truncated at ${pos} (+${n} of ${buf.length})`);
  };
  const u32 = (): number => {
    need(4);
    pos += 4;
    return buf.readUInt32LE(pos - 4);
  };
  const u64 = (): number => {
    need(8);
    pos += 8;
    return Number(buf.readBigUInt64LE(pos - 8));
  };
  const str = () => {
    const n = u64();
    need(n);
    pos += n;
    return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(pos - n, pos));
  };
  const scalar = (t: GgufScalarType): unknown => {
    const at = pos;
    switch (t) {
      case 'string':
        return str();
      case 'bool':
        need(1);
        pos += 1;
        return buf.readUInt8(at) !== 0;
      case 'u8':
        need(1);
        pos += 1;
        return buf.readUInt8(at);
      case 'i8':
        need(1);
        pos += 1;
        return buf.readInt8(at);
      case 'u16':
        need(2);
        pos += 2;
        return buf.readUInt16LE(at);
      case 'i16':
        need(2);
        pos += 2;
        return buf.readInt16LE(at);
      case 'u32':
        return u32();
      case 'i32':
        need(4);
        pos += 4;
        return buf.readInt32LE(at);
      case 'f32':
        need(4);
        pos += 4;
        return buf.readFloatLE(at);
      case 'u64':
        need(8);
        pos += 8;
        return buf.readBigUInt64LE(at);
      case 'i64':
        need(8);
        pos += 8;
        return buf.readBigInt64LE(at);
      case 'f64':
        need(8);
        pos += 8;
        return buf.readDoubleLE(at);
    }
  };
  if (u32() !== GGUF_MAGIC) throw new Error('gguf read: bad magic');
  const version = u32();
  const nTensors = u64();
  const nKv = u64();
  const metadata: ReadGguf['metadata'] = new Map();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = TYPE_NAME.get(u32());
    if (!type) throw new Error(`gguf read: ${key}: unknown type`);
    if (type === 'array') {
      const itemType = TYPE_NAME.get(u32()) as GgufScalarType;
      const n = u64();
      const values: unknown[] = [];
      for (let j = 0; j < n; j++) values.push(scalar(itemType));
      metadata.set(key, { type, itemType, value: values });
    } else metadata.set(key, { type, value: scalar(type as GgufScalarType) });
  }
  const al = metadata.get('general.alignment');
  const alignment = al ? (al.value as number) : 32;
  const infos: Array<{ name: string; ne: number[]; type: GgufTensorType; offset: number }> = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const ne: number[] = [];
    for (let d = 0; d < nd; d++) ne.push(u64());
    const type = GGML_NAME.get(u32());
    if (!type) throw new Error(`gguf read: ${name}: unknown ggml type`);
    infos.push({ name, ne, type, offset: u64() });
  }
  const dataStart = pos + ((alignment - (pos % alignment)) % alignment);
  const tensors: ReadGguf['tensors'] = new Map();
  for (const t of infos) {
    if (t.offset % alignment !== 0) throw new Error(`gguf read: ${t.name}: offset ${t.offset} not aligned to ${alignment}`);
    const n = t.ne.reduce((a, b) => a * b, 1);
    const at = dataStart + t.offset;
    const data = new Float32Array(n);
    if (at + n * (t.type === 'F32' ? 4 : 2) > buf.length) throw new Error(`gguf read: ${t.name}: data past the end`);
    for (let j = 0; j < n; j++) data[j] = t.type === 'F32' ? buf.readFloatLE(at + 4 * j) : f16BitsToF32(buf.readUInt16LE(at + 2 * j));
    tensors.set(t.name, { shape: [...t.ne].reverse(), ne: t.ne, type: t.type, offset: t.offset, data });
  }
  return { version, metadata, tensors, alignment, dataStart };
}
