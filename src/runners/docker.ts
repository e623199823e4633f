/**
 * The Docker evaluation runner (issue 4): runs the evaluation command in a hermetic container through
 * dockerode, so that a gate's verdict does not depend on the machine it ran on.
 *
 * Plan, then apply: `toContainerCreateOptions` turns an EvaluationPlan into the engine's create
 * options without I/O; `createDockerRunner().run` resolves the engine and the image, creates, streams,
 * enforces the timeout, and removes the container in every case.
 *
 * This module is imported lazily by src/runners/index.ts, and loads dockerode lazily itself, so that
 * commands that never evaluate in Docker do not pay for it.
 */
import { isAbsolute, relative } from 'node:path';
import { Duplex, Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import { environmentError, ExitCode, isMlshipError, messageOf, MlshipError, usageError, verdictError } from '../errors.js';
import { resolveEngineEndpoint, type EngineEndpoint } from './docker-engine.js';
import type { DockerPlan, EvaluationPlan, EvaluationRunner, RunIO, RunnerInfo } from './types.js';

/** Every container mlship creates carries this label (`docker ps -a --filter label=mlship`). */
export const MLSHIP_LABEL = 'mlship';
/** The host path of the repository the container evaluates, so a stray container can be traced. */
export const REPO_LABEL = 'mlship.repo';
/** How many lines of the command's output an exit error quotes. */
export const LOG_TAIL_LINES = 20;

export interface DockerRunnerOptions {
  /**
   * How long to wait for the engine to answer its first request before calling it unreachable.
   * Default 15 s (a remote engine over ssh can be slow to greet).
   */
  connectTimeoutMs?: number;
}

export interface ContainerOptionsOverrides {
  /** The image to create from: mlship passes the resolved image ID so the run uses exactly the recorded digest. */
  image?: string;
}

/**
 * The engine's create options for a plan. Pure: no I/O, so `--dry-run` can print it and tests assert it.
 *
 * Decisions (documented in the README, "Docker runner"):
 * - `command` is the whole argv, as for the local runner: argv[0] replaces the image's ENTRYPOINT and
 *   the rest is CMD, so the same command means the same thing with both runners.
 * - Only the configured `env` reaches the container (plus HOME=/tmp, since the root filesystem is
 *   read-only and the user may have no home); mlship's own environment never leaks in.
 * - Swap is disabled when a memory limit is set (MemorySwap = Memory) so an OOM is an OOM, not a crawl.
 */
export function toContainerCreateOptions(plan: EvaluationPlan, overrides: ContainerOptionsOverrides = {}): Dockerode.ContainerCreateOptions {
  const docker = requireDockerPlan(plan);
  const [program, ...args] = plan.argv;
  if (program === undefined || program === '') {
    throw usageError('E_EVAL_COMMAND', 'the evaluation command is empty', { hint: "Set 'evaluate.command' to an argv such as [python3, eval.py]." });
  }
  for (const [what, path] of [['repository', plan.repoRoot], ['outputs folder', plan.outputsDir]] as const) {
    if (!isAbsolute(path)) throw new MlshipError('E_DOCKER_PLAN', ExitCode.bug, `the ${what} path '${path}' is not absolute`);
  }
  for (const [name, path] of Object.entries(plan.artifacts)) {
    // Artifacts reach the container through the read-only repository mount; one outside it would be
    // invisible (or, through a symlink, a hole), so the plan is refused rather than mounted.
    const rel = relative(plan.repoRoot, path);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw usageError('E_DOCKER_ARTIFACT_OUTSIDE_REPO', `artifact '${name}' (${path}) is outside the repository ${plan.repoRoot}`, {
        hint: 'The Docker runner mounts only the repository (read-only): keep artifacts inside it.',
      });
    }
  }

  const env: Record<string, string> = { HOME: '/tmp', ...plan.env };
  const hostConfig: Dockerode.HostConfig = {
    NetworkMode: docker.network,
    Privileged: false,
    ReadonlyRootfs: true,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    Mounts: [
      { Type: 'bind', Source: plan.repoRoot, Target: docker.containerRepo, ReadOnly: true },
      { Type: 'bind', Source: plan.outputsDir, Target: docker.containerOutputs, ReadOnly: false },
    ],
    // exec is kept: numba, torch.compile and friends dlopen what they write to /tmp.
    Tmpfs: { '/tmp': 'rw,nosuid,nodev,exec,mode=1777' },
    // mlship removes the container itself, after reading its exit state (OOMKilled needs it).
    AutoRemove: false,
  };
  if (docker.memoryBytes !== undefined) {
    hostConfig.Memory = docker.memoryBytes;
    hostConfig.MemorySwap = docker.memoryBytes;
  }
  if (docker.nanoCpus !== undefined) hostConfig.NanoCpus = docker.nanoCpus;
  if (docker.pidsLimit !== undefined) hostConfig.PidsLimit = docker.pidsLimit;

  return {
    Image: overrides.image ?? docker.image,
    Entrypoint: [program],
    Cmd: args,
    WorkingDir: docker.containerRepo,
    User: docker.user,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...docker.labels, [MLSHIP_LABEL]: '1', [REPO_LABEL]: plan.repoRoot },
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    HostConfig: hostConfig,
  };
}

/** The digest recorded for an image: the repo digest matching the reference where there is one, else the image ID. */
export function imageDigestOf(reference: string, image: { Id: string; RepoDigests?: string[] | undefined }): string {
  const pinned = /@(sha256:[0-9a-f]{64})$/.exec(reference);
  if (pinned?.[1] !== undefined) return pinned[1];
  const repo = repositoryOf(reference);
  const digests = image.RepoDigests ?? [];
  const match = digests.find((entry) => repositoryOf(entry) === repo) ?? digests[0];
  const digest = match?.slice(match.indexOf('@') + 1);
  return digest !== undefined && digest.startsWith('sha256:') ? digest : image.Id;
}

/** `registry:5000/team/model:tag` -> `registry:5000/team/model` (a colon after the last slash is a tag). */
function repositoryOf(reference: string): string {
  const at = reference.indexOf('@');
  const withoutDigest = at >= 0 ? reference.slice(0, at) : reference;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
}

export function createDockerRunner(options: DockerRunnerOptions = {}): EvaluationRunner {
  return {
    run: (plan, io) => runInDocker(plan, io, options),
  };
}

type Engine = Dockerode;
type Container = Dockerode.Container;

async function runInDocker(plan: EvaluationPlan, io: RunIO, options: DockerRunnerOptions): Promise<RunnerInfo> {
  const docker = requireDockerPlan(plan);
  toContainerCreateOptions(plan); // refuse a bad plan before touching the engine
  throwIfAborted(io.signal);

  const endpoint = resolveEngineEndpoint(io.processEnv);
  const engine = await connect(endpoint);
  await ping(engine, endpoint, options.connectTimeoutMs ?? 15_000, io.signal);

  const image = await ensureImage(engine, endpoint, docker, io);
  const info: RunnerInfo = { kind: 'docker', image: docker.image, imageDigest: imageDigestOf(docker.image, image) };
  const createOptions = toContainerCreateOptions(plan, { image: image.Id });

  // No abort signal on create: aborting the request could leave a container the engine did create
  // but whose ID we never learn. Create completes; the abort is honoured right after, with cleanup.
  let container: Container;
  try {
    container = await engine.createContainer(createOptions);
  } catch (error) {
    throw engineError(error, endpoint, 'create the evaluation container');
  }
  let outcome: ContainerOutcome | undefined;
  try {
    outcome = await runContainer(engine, endpoint, container, plan, io);
  } finally {
    await removeContainer(container, io);
  }
  assertSucceeded(outcome, plan, docker);
  return info;
}

function requireDockerPlan(plan: EvaluationPlan): DockerPlan {
  if (plan.runner !== 'docker' || plan.docker === undefined) {
    throw new MlshipError('E_DOCKER_PLAN', ExitCode.bug, `the Docker runner was given a plan for the '${plan.runner}' runner without Docker settings`);
  }
  return plan.docker;
}

async function connect(endpoint: EngineEndpoint): Promise<Engine> {
  const { default: Docker } = await import('dockerode');
  try {
    // Every key is passed, undefined ones included: docker-modem merges our options over defaults it
    // reads from process.env itself, and an explicit undefined is what keeps those out.
    return new Docker({ ...endpoint.connection } as Dockerode.DockerOptions);
  } catch (error) {
    throw environmentError('E_DOCKER_HOST', `cannot set up the Docker client for ${endpoint.address}: ${messageOf(error)}`, {
      hint: unreachableHint(endpoint),
      cause: error,
    });
  }
}

async function ping(engine: Engine, endpoint: EngineEndpoint, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const abortSignal = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  try {
    // dockerode's ping honours { abortSignal } at run time; @types/dockerode 4.0.2 only declares ping().
    const pingWithOptions = engine.ping as unknown as (this: Engine, options: { abortSignal: AbortSignal }) => Promise<unknown>;
    await pingWithOptions.call(engine, { abortSignal });
  } catch (error) {
    throwIfAborted(signal);
    if (timeout.aborted) {
      throw environmentError('E_DOCKER_UNREACHABLE', `the Docker engine at ${endpoint.address} (${endpoint.source}) did not answer within ${formatMs(timeoutMs)}`, {
        hint: unreachableHint(endpoint),
        cause: error,
      });
    }
    throw engineError(error, endpoint, 'answer a ping');
  }
}

interface ImageInfo {
  Id: string;
  RepoDigests?: string[] | undefined;
}

async function inspectImage(engine: Engine, endpoint: EngineEndpoint, reference: string, signal: AbortSignal | undefined): Promise<ImageInfo | undefined> {
  try {
    // No abort signal: image inspect is one quick request, and dockerode would put it in the query string.
    const image = await engine.getImage(reference).inspect();
    return { Id: image.Id, RepoDigests: image.RepoDigests };
  } catch (error) {
    throwIfAborted(signal);
    if (statusOf(error) === 404) return undefined;
    throw engineError(error, endpoint, `inspect image ${reference}`);
  }
}

async function ensureImage(engine: Engine, endpoint: EngineEndpoint, docker: DockerPlan, io: RunIO): Promise<ImageInfo> {
  const reference = docker.image;
  if (docker.pull !== 'always') {
    const present = await inspectImage(engine, endpoint, reference, io.signal);
    if (present !== undefined) return present;
    if (docker.pull === 'never') {
      throw environmentError('E_DOCKER_IMAGE_MISSING', `image ${reference} is not on the Docker engine at ${endpoint.address}, and pull is 'never'`, {
        hint: `Build or load it there (\`docker build -t ${reference} .\`, \`docker pull ${reference}\`, \`docker load\`), or set 'evaluate.pull: missing'.`,
        details: { image: reference, pull: docker.pull },
      });
    }
  }
  await pullImage(engine, endpoint, reference, docker.pull, io);
  const pulled = await inspectImage(engine, endpoint, reference, io.signal);
  if (pulled === undefined) {
    throw environmentError('E_DOCKER_PULL', `image ${reference} was pulled but the engine does not list it`, {
      hint: 'Check the image reference (a platform mismatch can cause this) with `docker image ls`.',
    });
  }
  return pulled;
}

/** Pulls with progress on io.log: one line per layer and status change, not per byte. */
async function pullImage(engine: Engine, endpoint: EngineEndpoint, reference: string, pull: DockerPlan['pull'], io: RunIO): Promise<void> {
  io.log?.write(`mlship: pulling ${reference}\n`);
  const failed = (why: string, cause?: unknown) =>
    environmentError('E_DOCKER_PULL', `cannot pull image ${reference}: ${why}`, {
      hint: `Check the image name and that the engine at ${endpoint.address} can reach its registry (private registries: \`docker login\`, then \`docker pull ${reference}\`). ${
        pull === 'always' ? "To use the copy already on the engine, set 'evaluate.pull: missing'." : `Or build or load it onto the engine (\`docker build -t ${reference} .\`, \`docker load\`).`
      }`,
      details: { image: reference },
      cause,
    });
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.pull(reference, { abortSignal: io.signal });
  } catch (error) {
    throwIfAborted(io.signal);
    if (isUnreachable(error)) throw engineError(error, endpoint, `pull ${reference}`);
    throw failed(engineMessage(error), error);
  }
  const lastStatus = new Map<string, string>();
  let pending = '';
  let pullError: string | undefined;
  const onLine = (line: string) => {
    if (line.trim() === '') return;
    let event: { id?: unknown; status?: unknown; error?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return; // a malformed progress line is not worth failing a pull over
    }
    if (typeof event.error === 'string') {
      pullError = event.error;
      return;
    }
    if (typeof event.status !== 'string') return;
    const id = typeof event.id === 'string' ? event.id : '';
    if (lastStatus.get(id) === event.status) return;
    lastStatus.set(id, event.status);
    io.log?.write(`mlship: ${id ? `${id}: ` : ''}${event.status}\n`);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer | string) => {
        pending += chunk.toString();
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          onLine(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
      });
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', (error: unknown) => reject(error));
    });
    onLine(pending);
  } catch (error) {
    throwIfAborted(io.signal);
    throw failed(messageOf(error), error);
  }
  throwIfAborted(io.signal);
  if (pullError !== undefined) throw failed(pullError);
}

interface ContainerOutcome {
  statusCode: number;
  oomKilled: boolean;
  timedOut: boolean;
  interrupted: boolean;
  logTail: string[];
}

async function runContainer(engine: Engine, endpoint: EngineEndpoint, container: Container, plan: EvaluationPlan, io: RunIO): Promise<ContainerOutcome> {
  throwIfAborted(io.signal);
  const tail = new LogTail(LOG_TAIL_LINES);
  const sink = (stream: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        tail.push(stream, chunk);
        io.log?.write(chunk);
        callback();
      },
    });

  // Attach before start, as `docker run` does, so that no early output is lost. (stdout and stderr
  // are separate pipes in the container: their relative order is the engine's, as with `docker run`.)
  let attached: NodeJS.ReadWriteStream;
  try {
    attached = await container.attach({ stream: true, stdout: true, stderr: true, logs: false });
  } catch (error) {
    throw engineError(error, endpoint, 'attach to the evaluation container');
  }
  const streamDone = new Promise<void>((resolve) => {
    attached.on('end', () => resolve());
    attached.on('close', () => resolve());
    attached.on('error', () => resolve());
  });
  engine.modem.demuxStream(attached, sink('stdout'), sink('stderr'));

  let timedOut = false;
  let interrupted = false;
  let kill: Promise<void> | undefined;
  const stop = () => {
    kill ??= container.kill({ signal: 'SIGKILL' }).then(
      () => undefined,
      () => undefined, // already exited (409/404): nothing to stop
    );
  };
  const onAbort = () => {
    interrupted = true;
    stop();
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    throwIfAborted(io.signal); // aborted while attaching: never start it
    try {
      await container.start();
    } catch (error) {
      const message = engineMessage(error);
      // runc's words when argv[0] is not in the image: the same mistake as a missing local program.
      if (/executable file not found|no such file or directory|permission denied/i.test(message) && /exec/i.test(message)) {
        throw usageError('E_EVAL_COMMAND', `the evaluation command ${plan.argv[0] ?? ''} cannot be run in image ${plan.docker?.image ?? ''}: ${message}`, {
          hint: "Fix evaluate.command in mlship.yaml: its first element must be a program in the image (it runs without a shell, with the image's ENTRYPOINT replaced).",
          cause: error,
        });
      }
      throw engineError(error, endpoint, 'start the evaluation container', [
        `Check that '${plan.argv[0] ?? ''}' exists in the image and is executable, and that ${plan.repoRoot} and ${plan.outputsDir} exist on the engine's host (bind mounts are resolved there).`,
      ]);
    }
    if (io.signal?.aborted) onAbort();
    if (plan.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, plan.timeoutMs);
    }
    const statusCode = await waitForExit(container, streamDone, endpoint);
    if (timer !== undefined) clearTimeout(timer);
    await kill;
    // The attach stream ends when the container's output closes; a stuck one must not hang mlship.
    await Promise.race([streamDone, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    let oomKilled = false;
    try {
      const state = await container.inspect();
      oomKilled = state.State.OOMKilled === true;
    } catch (error) {
      throw engineError(error, endpoint, 'inspect the evaluation container');
    }
    if (oomKilled && statusCode === 0) io.log?.write('mlship: warning: a process in the evaluation container was killed for lack of memory\n');
    return { statusCode, oomKilled, timedOut, interrupted: interrupted || io.signal?.aborted === true, logTail: tail.lines() };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    io.signal?.removeEventListener('abort', onAbort);
    if (attached instanceof Duplex) attached.destroy();
  }
}

/**
 * The container's exit code. `wait` alone is not enough: when the connection to the engine drops,
 * docker-modem may never settle it (and with nothing else pending, Node exits 13 with no word). Once
 * the output stream has ended, the engine is asked directly every 2 s; an engine that no longer
 * answers is an environment error (exit 3).
 */
async function waitForExit(container: Container, streamDone: Promise<void>, endpoint: EngineEndpoint): Promise<number> {
  let settled = false;
  const waited = (container.wait() as Promise<{ StatusCode?: number }>).then(
    (result) => {
      settled = true;
      return { ok: true as const, code: result.StatusCode ?? -1 };
    },
    (error: unknown) => {
      settled = true;
      return { ok: false as const, error };
    },
  );
  await Promise.race([waited, streamDone]);
  while (!settled) {
    await Promise.race([waited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    if (settled) break;
    let running: boolean;
    let exitCode: number;
    try {
      const state = await container.inspect();
      running = state.State.Running === true;
      exitCode = state.State.ExitCode ?? -1;
    } catch (error) {
      throw engineError(error, endpoint, 'wait for the evaluation container (the connection to the engine was lost)');
    }
    if (!running) return exitCode;
  }
  const outcome = await waited;
  if (!outcome.ok) throw engineError(outcome.error, endpoint, 'wait for the evaluation container');
  return outcome.code;
}

/** Removes the container whatever happened; a failure here is reported, never allowed to mask the outcome. */
async function removeContainer(container: Container, io: RunIO): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    if (statusOf(error) === 404) return;
    io.log?.write(`mlship: warning: could not remove container ${container.id.slice(0, 12)}: ${engineMessage(error)}; remove it with \`docker rm -f ${container.id.slice(0, 12)}\`\n`);
  }
}

function assertSucceeded(outcome: ContainerOutcome, plan: EvaluationPlan, docker: DockerPlan): void {
  const tail = outcome.logTail;
  // The same shape as the local runner's messages, so users and scripts meet one format.
  const withTail = (message: string) => (tail.length === 0 ? message : `${message}\n--- last ${tail.length} lines of output ---\n${tail.join('\n')}`);
  const details = { image: docker.image, exitCode: outcome.statusCode, logTail: tail };
  if (outcome.interrupted) {
    throw new MlshipError('E_INTERRUPTED', ExitCode.interrupted, 'evaluation interrupted: the container was stopped and removed', { details });
  }
  if (outcome.timedOut) {
    throw verdictError('E_EVAL_TIMEOUT', withTail(`the evaluation timed out after ${formatMs(plan.timeoutMs ?? 0)} and was killed (image ${docker.image})`), {
      hint: "Make the evaluation faster or raise 'evaluate.timeout'.",
      details,
    });
  }
  if (outcome.oomKilled) {
    const limit = docker.memoryBytes === undefined ? 'the memory available to the engine' : `the memory limit of ${formatBytes(docker.memoryBytes)}`;
    throw verdictError('E_EVAL_OOM', withTail(`the evaluation was killed for running out of memory: it exceeded ${limit} (exit code ${outcome.statusCode})`), {
      hint: "Raise 'evaluate.resources.memory', or make the evaluation use less memory.",
      details,
    });
  }
  if (outcome.statusCode !== 0) {
    throw verdictError('E_EVAL_FAILED', withTail(`the evaluation command exited with code ${outcome.statusCode} in image ${docker.image}`), {
      hint: `Fix the evaluation (its output is above). In ${docker.image} it runs with ${docker.network === 'none' ? 'no network' : `network ${docker.network}`}, a read-only root filesystem and the repository read-only at ${docker.containerRepo}; only ${docker.containerOutputs} and /tmp are writable.`,
      details,
    });
  }
}

/** The last lines of a container's combined output, kept within a bounded amount of memory. */
class LogTail {
  private text = '';
  constructor(private readonly maxLines: number, private readonly maxChars = 64 * 1024) {}

  push(_stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    if (this.text.length > this.maxChars * 2) this.text = this.text.slice(-this.maxChars);
  }

  lines(): string[] {
    const lines = this.text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
    return (this.text === '' ? [] : lines.slice(-this.maxLines)).map((line) => (line.length > 500 ? `${line.slice(0, 500)}…` : line));
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new MlshipError('E_INTERRUPTED', ExitCode.interrupted, 'evaluation interrupted before the container started');
  }
}

/** Connection-level failures: the engine is not there, not reachable, or refuses us at the door. */
function isUnreachable(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const level = typeof error === 'object' && error !== null && 'level' in error ? String(error.level) : '';
  return (
    ['ECONNREFUSED', 'ENOENT', 'EACCES', 'EPERM', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE', 'ENOTSOCK'].includes(code) ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) ||
    level.startsWith('client-') // ssh2: client-socket, client-authentication, client-timeout
  );
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
}

/** The engine's own words ("no such image: …") rather than docker-modem's "(HTTP code 404) …" wrapper. */
function engineMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const json = error.json;
    if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') return json.message;
  }
  // docker-modem wraps the engine's words as "(HTTP code 500) server error - <message>".
  return messageOf(error).replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
}

function engineError(error: unknown, endpoint: EngineEndpoint, action: string, hints: string[] = []): MlshipError {
  if (isMlshipError(error)) return error;
  if (isUnreachable(error)) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    return environmentError('E_DOCKER_UNREACHABLE', `cannot reach the Docker engine at ${endpoint.address} (${endpoint.source}): ${messageOf(error)}`, {
      hint: code === 'EACCES' || code === 'EPERM' ? permissionHint(endpoint) : unreachableHint(endpoint),
      cause: error,
      details: { endpoint: endpoint.address },
    });
  }
  return environmentError('E_DOCKER_ENGINE', `the Docker engine at ${endpoint.address} could not ${action}: ${engineMessage(error)}`, {
    hint: hints[0] ?? 'Check the engine with `docker info`; its log usually says more.',
    cause: error,
    details: { endpoint: endpoint.address, status: statusOf(error) },
  });
}

function unreachableHint(endpoint: EngineEndpoint): string {
  const start = 'Start an engine (Docker Desktop, colima, `sudo systemctl start docker` or `sudo dockerd &`)';
  const check = '`docker info` shows whether one answers.';
  if (endpoint.source === 'DOCKER_HOST') {
    return `DOCKER_HOST is ${endpoint.address}: check that an engine listens there, or unset DOCKER_HOST to use the local one. ${start}. ${check}`;
  }
  return `${start}, or set DOCKER_HOST to reach another engine (unix:///var/run/docker.sock, tcp://HOST:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, ssh://USER@HOST). ${check}`;
}

function permissionHint(endpoint: EngineEndpoint): string {
  return `You may not use ${endpoint.address}: add yourself to the docker group (\`sudo usermod -aG docker $USER\`, then log in again), use rootless Docker, or point DOCKER_HOST at an engine you may use.`;
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = ms / 1000;
  if (seconds < 120) return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
  const minutes = seconds / 60;
  return minutes < 120 ? `${Number.isInteger(minutes) ? minutes : minutes.toFixed(1)}m` : `${(minutes / 60).toFixed(1)}h`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
