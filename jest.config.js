/** Jest: TypeScript through ts-jest; unit tests sit beside the code, end-to-end tests in test/. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
  // ESM-only dependencies of node-opcua, loaded through Node's require instead of Jest's.
  moduleNameMapper: {
    '^hexy$': '<rootDir>/test/support/hexy.cjs',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  // One worker at a time (hub processes, Redis and brokers need the other core), recycled after every
  // test file: node-opcua leaves process-wide state behind that broke the next file in the same process.
  maxWorkers: 1,
  workerIdleMemoryLimit: '50MB',
};
