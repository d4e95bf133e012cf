/**
 * Jest 30 in native ESM mode, TypeScript through @swc/jest (run with NODE_OPTIONS=--experimental-vm-modules,
 * which scripts/test.mjs sets). Three tiers, selected with --selectProjects:
 *   unit         *.spec.ts next to the code (no I/O beyond the process, e.g. SQLite in a temp dir)
 *   integration  test/integration/*.int-spec.ts against real ClickHouse, Redis and the Kafka-protocol broker
 *   e2e          test/e2e/*.e2e-spec.ts: the apps booted and driven as a user would
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@vigil/(contracts|platform|testing)$': '<rootDir>/libs/$1/src/index.ts',
    '^@vigil/(contracts|platform|testing)/(.*)$': '<rootDir>/libs/$1/src/$2',
    '^@vigil/(ingest|detector|alert|standalone)/(.*)$': '<rootDir>/apps/$1/src/$2',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/\\.data/', '<rootDir>/\\.infra/'],
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/src/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
  ],
};
