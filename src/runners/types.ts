/**
 * The evaluation runner contract. A runner executes a plan built by `planEvaluation`
 * (src/runners/plan.ts): deciding what to run is pure; running it is the runner's job.
 */
export interface EvaluationPlan {
  runner: 'local' | 'docker';
  /** argv with every ${...} placeholder substituted; never passed through a shell. */
  argv: string[];
  /** Absolute repository root (the working directory of the command; mounted read-only in Docker). */
  repoRoot: string;
  /** Absolute path of a fresh, empty outputs folder on the host. */
  outputsDir: string;
  /** Absolute artifact paths by name, on the host. */
  artifacts: Record<string, string>;
  /** Extra environment variables from the config. */
  env: Record<string, string>;
  /** Milliseconds, or undefined for none. */
  timeoutMs: number | undefined;
  /** Docker only (see DockerSettings in the config schema). */
  docker?: DockerPlan;
}

export interface DockerPlan {
  image: string;
  pull: 'missing' | 'always' | 'never';
  network: string;
  memoryBytes: number | undefined;
  nanoCpus: number | undefined;
  pidsLimit: number | undefined;
  /** uid:gid */
  user: string;
  /** Path the outputs folder is mounted at inside the container. */
  containerOutputs: string;
  /** Path the repository is mounted at inside the container (also the working directory). */
  containerRepo: string;
  /**
   * Extra container labels, e.g. `{ 'mlship.model': 'churn' }`. The runner always adds `mlship=1`
   * and `mlship.repo=<repoRoot>`, which win over these.
   */
  labels?: Record<string, string>;
}

/** What the runner reports about itself, recorded in eval results and register events. */
export interface RunnerInfo {
  kind: 'local' | 'docker';
  image?: string;
  imageDigest?: string;
}

export interface RunIO {
  /** Where the command's stdout and stderr are streamed (mlship's stderr, or nowhere with --json -q). */
  log: NodeJS.WritableStream | undefined;
  /** Aborted on SIGINT/SIGTERM: the runner stops the command and cleans up, then throws. */
  signal: AbortSignal | undefined;
  /** The process environment to inherit (local runner) or to read DOCKER_HOST & co from. */
  processEnv: Record<string, string | undefined>;
}

export interface EvaluationRunner {
  /** Runs the plan to completion; throws MlshipError on non-zero exit, timeout, or engine failure. */
  run(plan: EvaluationPlan, io: RunIO): Promise<RunnerInfo>;
}
