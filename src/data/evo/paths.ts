// Which changed paths count as production code for the commit diff: .py/.md/.rst files outside
// test and vendored folders (a path component containing "test", as the repository encoder rule).
const VENDOR = new Set([
  'vendor',
  'vendored',
  '_vendor',
  'third_party',
  'thirdparty',
  'third-party',
  'extern',
  'external',
  'node_modules',
  'site-packages',
]);

export function isProductionPath(p: string): boolean {
  if (!/\.(py|md|rst)$/i.test(p)) return false;
  const parts = p.split('/');
  if (parts.some((c) => /test/i.test(c))) return false;
  return !parts.some((c) => VENDOR.has(c.toLowerCase()));
}

/**
 * The same rule as git pathspecs, so one `git diff` call both selects and diffs the files
 * (paths.test.ts checks the two agree).
 */
export function productionPathspecs(): string[] {
  const inc = ['py', 'md', 'rst'].map((e) => `:(glob,icase)**/*.${e}`);
  const exc = [
    ':(exclude,glob,icase)**/*test*/**',
    ':(exclude,glob,icase)**/*test*',
    ...[...VENDOR].map((v) => `:(exclude,glob,icase)**/${v}/**`),
  ];
  return [...inc, ...exc];
}
