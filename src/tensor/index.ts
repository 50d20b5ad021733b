export {
  Tensor,
  zeros,
  empty,
  newArrayUninitialized,
  fromArray,
  newArray,
  scratchArray,
  BufferArena,
  withArena,
  shapeSize,
  expectShape,
  type DType,
} from './tensor.js';
export { Tape, needsGrad } from './tape.js';
export { linear, matmul } from './ops/linear.js';
export { add, scale, swiglu, gelu } from './ops/elementwise.js';
export { rmsnorm, layernorm } from './ops/norm.js';
export { embedding } from './ops/embedding.js';
export { rope, ropeTables, type RopeTables } from './ops/rope.js';
export { attention } from './ops/attention.js';
export { crossEntropy, type CrossEntropyResult } from './ops/cross-entropy.js';
export { sliceRows, concatRows, concatCols } from './ops/rows.js';
export { meanRows, maxRows } from './ops/pool.js';
export { l2NormalizeRows } from './ops/l2norm.js';
export { tanh, exp, clamp, mul, scaleBy, addBias } from './ops/pointwise.js';
export { gruGates } from './ops/gru.js';
export { segmentLora, type RowSegment } from './ops/segment-lora.js';
