export { Tensor, zeros, empty, newArrayUninitialized, fromArray, newArray, shapeSize, expectShape, type DType } from './tensor.js';
export { Tape, needsGrad } from './tape.js';
export { linear, matmul } from './ops/linear.js';
export { add, scale, swiglu, gelu } from './ops/elementwise.js';
export { rmsnorm, layernorm } from './ops/norm.js';
export { embedding } from './ops/embedding.js';
export { rope, ropeTables, type RopeTables } from './ops/rope.js';
export { attention } from './ops/attention.js';
export { crossEntropy, type CrossEntropyResult } from './ops/cross-entropy.js';
