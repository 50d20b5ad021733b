import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    // Native kernels use both cores themselves; parallel test files would only fight over them.
    fileParallelism: false,
  },
});
