// The layers of src/, enforced: `npm run depcheck` (part of `npm test`, so of .ci/run).
// docs/ARCHITECTURE.md explains each room. A room may import only the rooms listed before it in
// LAYERS (never one after it: no backward import), the leaves, and util; a leaf may import only util;
// retrieval (tensor-free, over the leaves) may import only leaves and util;
// no module-level or folder-level import cycle anywhere. Test files (x.test.ts) are not cruised: they
// are consumers that nothing imports (so they cannot close a cycle), and may reach up (a model test
// uses a LoRA adapter as a fixture).
'use strict';

/** Pipeline rooms, lowest first: native -> tensor -> nn -> model -> adapters -> train -> eval -> serve -> bench -> cli. */
const LAYERS = [
  ['native'],
  ['tensor'],
  ['nn'],
  ['model'],
  ['adapters/lora'],
  ['adapters/hyper'], // the hypernetwork emits LoRA tensors: hyper may import lora, never the reverse
  ['train'],
  ['eval'],
  ['serve'],
  ['bench'], // benchmarks time everything below the command line
  ['cli'],
];

/** Tensor-free leaves: anything may use them; they use only util (and their own room). */
const LEAVES = ['tokenizer', 'formats', 'data'];

/** Tensor-free rooms over the leaves (retrieval for RAG: chunks source files, counts tokens): they
 *  may use the leaves and util, never a pipeline room; the leaves never use them. */
const OVER_LEAVES = ['retrieval'];

/** Sub-rooms of data, lowest first: tasks reads the corpus manifest; corpus and evo use tasks' extraction. */
const DATA_LAYERS = [['python', 'tar', 'debian', 'manifest'], ['tasks'], ['corpus', 'evo']];

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const under = (rooms, base = 'src') => `^${base}/(${rooms.map(esc).join('|')})(/|\\.ts$)`;
const NOT_TEST = '\\.test\\.ts$';

const layerRules = LAYERS.slice(0, -1).map((rooms, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return {
    name: `layer-${rooms.join('-').replace('/', '-')}`,
    comment: `${rooms.join(', ')} must not import a room after it in the pipeline (${above.join(', ')})`,
    severity: 'error',
    from: { path: under(rooms) },
    to: { path: under(above) },
  };
});

const leafRule = {
  name: 'leaves-import-only-util',
  comment: `the leaves (${LEAVES.join(', ')}) import only util and themselves, never a pipeline room or another leaf`,
  severity: 'error',
  from: { path: `^src/(${LEAVES.join('|')})/` },
  to: { path: '^src/', pathNot: ['^src/util/', '^src/$1/'] },
};

const overLeavesRule = {
  name: 'tensor-free-over-leaves',
  comment: `${OVER_LEAVES.join(', ')} import only the leaves (${LEAVES.join(', ')}), util and themselves: no tensors, no pipeline room`,
  severity: 'error',
  from: { path: `^src/(${OVER_LEAVES.join('|')})/` },
  to: { path: '^src/', pathNot: ['^src/util/', '^src/$1/', `^src/(${LEAVES.join('|')})/`] },
};

const utilRule = {
  name: 'util-imports-nothing',
  comment: 'util is the floor: it imports no other room',
  severity: 'error',
  from: { path: '^src/util/' },
  to: { path: '^src/', pathNot: '^src/util/' },
};

const dataRules = DATA_LAYERS.slice(0, -1).map((rooms, i) => {
  const above = DATA_LAYERS.slice(i + 1).flat();
  return {
    name: `data-${rooms.join('-')}`,
    comment: `data/${rooms.join(', data/')} must not import data/${above.join(', data/')}`,
    severity: 'error',
    from: { path: under(rooms, 'src/data') },
    to: { path: under(above, 'src/data') },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'modules must not import each other, directly or through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment: 'folders must not import each other, directly or through others (e.g. data/tasks <-> data/corpus)',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    utilRule,
    leafRule,
    overLeavesRule,
    ...layerRules,
    ...dataRules,
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing is a typo or a missing dependency',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-deps-in-src',
      comment: 'library code must not import devDependencies (they are not installed for users)',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/.*/testing\\.ts$' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: NOT_TEST },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
    parser: 'swc',
  },
};
