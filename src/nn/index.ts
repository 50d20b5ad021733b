export { type Module, collectParameters, parameterCount } from './module.js';
export { Linear, type LinearInit, type LinearInitOptions } from './linear.js';
export { MLP, type MLPOptions } from './mlp.js';
export { LayerNorm } from './layernorm.js';
export { Embedding } from './embedding.js';
export { GRUCell, detachState, unrollGRU } from './gru.js';
