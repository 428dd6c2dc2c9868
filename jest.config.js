/** Jest: TypeScript through ts-jest; unit tests sit beside the code, end-to-end tests in test/. */
module.exports = {
  testEnvironment: 'node',
  roots: [
    '<rootDir>/connectors',
    '<rootDir>/mappings',
    '<rootDir>/schemas',
    '<rootDir>/hub',
    '<rootDir>/ops',
    '<rootDir>/test',
  ],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
};
