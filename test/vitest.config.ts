import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Most tests wait on child processes (the CLI, git, a container): on 2 cores, vitest's default
    // of one worker leaves a core idle. Three workers keep both busy.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each real service the suite needs is started once here (S3-protocol server, Docker image).
    globalSetup: ['test/setup/s3.ts', 'test/setup/docker.ts'],
  },
});
