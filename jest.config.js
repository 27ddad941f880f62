// Test tiers (STYLE.md §15): the folder says which tier a test belongs to.
//   unit        test/unit, test/pipeline, test/model (ONNX runtime, committed model)  no broker, no network
//   integration test/integration          the real local broker + registry (make test starts them)
/** @type {import('jest').Config} */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: '<rootDir>/test/support/jest-environment.js',
      transform: { '^.+\\.ts$': tsJest },
      setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
      testMatch: [
        '<rootDir>/test/unit/**/*.test.ts',
        '<rootDir>/test/pipeline/**/*.test.ts',
        '<rootDir>/test/model/**/*.test.ts',
      ],
    },
    {
      displayName: 'integration',
      testEnvironment: '<rootDir>/test/support/jest-environment.js',
      transform: { '^.+\\.ts$': tsJest },
      setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      slowTestThreshold: 30,
    },
  ],
};
