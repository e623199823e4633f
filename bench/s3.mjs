#!/usr/bin/env node
/**
 * Push benchmark for the S3 store (issue 3): mlship's store against the AWS CLI, on the same local
 * S3-protocol server (s3rver, started here in its own process so it never shares an event loop with
 * the client under test), in the same run.
 *
 *   npm run build && node bench/s3.mjs            # 1 GiB + 2,000 files of ~100 KB (~200 MB)
 *   node bench/s3.mjs --large-mib 256 --small 500 # a quicker run
 *
 * Workloads: one large file (multipart on both sides), and many small files (`aws s3 sync` against
 * mlship's putFiles with its bounded concurrency). mlship's figures are for the upload alone (the
 * push hashes first, and its stat cache makes that free on later pushes); the time to hash is
 * reported beside them. Results: bench/results/s3.json. Not a test: nothing here asserts a speed.
 *
 * Per workload and tool it also records the CPU time of the client (this process for mlship, the
 * AWS CLI through GNU time) and of the server, and the requests the server received by kind (counted
 * inside the server process), so that a figure on a shared machine can be read against the work done.
 * Fairness: dirty pages are flushed (`sync`) before each timed step, so that the disk writeback of
 * one step's gigabyte does not land in the next step's time, and the server first takes an untimed
 * warm-up of small PUTs from the AWS CLI (so whichever tool goes first with small files does not pay
 * for the server's JIT alone). `--dist DIR` measures another build of mlship (default: the frozen
 * build that bench/run.mjs hands over, else dist/).
 *
 * The AWS CLI is Debian's (`apt-get install -y awscli`), called by full path because a pip-installed
 * aws 1.x may come first on PATH; set MLSHIP_BENCH_AWS to use another.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const { values: args } = parseArgs({
  options: {
    'large-mib': { type: 'string', default: '1024' },
    small: { type: 'string', default: '2000' },
    'small-kib': { type: 'string', default: '100' },
    concurrency: { type: 'string' },
    warmup: { type: 'string', default: '200' },
    dist: { type: 'string' },
  },
});
// bench/run.mjs hands over a frozen copy of the build (MLSHIP_BENCH_BIN = <copy>/bin/mlship), so that
// concurrent work rebuilding dist/ cannot change the code under test mid-run.
const frozen = process.env.MLSHIP_BENCH_BIN === undefined ? undefined : join(dirname(process.env.MLSHIP_BENCH_BIN), '..', 'dist');
const dist = join(args.dist ?? frozen ?? join(root, 'dist'), 'store');
if (!existsSync(join(dist, 's3.js'))) {
  console.error(`bench/s3.mjs imports the built store (${dist}): run \`npm run build\` first`);
  process.exit(2);
}
const { createS3Store } = await import(join(dist, 's3.js'));
const { putFiles } = await import(join(dist, 'pool.js'));
const { hashFile } = await import(join(dist, 'hash.js'));
const LARGE = Number(args['large-mib']) * 1024 * 1024;
const SMALL_COUNT = Number(args.small);
const SMALL_AVG = Number(args['small-kib']) * 1024;
const AWS = process.env.MLSHIP_BENCH_AWS ?? '/usr/bin/aws';
const MB = 1e6;
const BUCKET = 'mlship-bench';
const ACCESS_KEY = 'S3RVER';
const SECRET = 'S3RVER';

const log = (message) => console.error(`[bench] ${message}`);

/**
 * s3rver in a child process. It counts the requests it receives by kind and reports them with its
 * own CPU time over IPC: `stats()` resolves with `{ requests: {kind: n}, cpuSeconds }` so far.
 */
async function startServer(directory) {
  const code = `
    import S3rver from 's3rver';
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(directory)}, configureBuckets: [{ name: ${JSON.stringify(BUCKET)} }] });
    const { port } = await server.run();
    const requests = {};
    const kindOf = (method, url) => {
      const query = new URL(url, 'http://server').searchParams;
      if (query.has('list-type') || query.has('prefix') || query.has('delimiter')) return 'LIST';
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('partNumber')) return 'UploadPart';
      if (query.has('uploadId')) return method === 'POST' ? 'CompleteMultipartUpload' : method === 'DELETE' ? 'AbortMultipartUpload' : method + ' upload';
      return { PUT: 'PutObject', HEAD: 'HeadObject', GET: 'GetObject', DELETE: 'DeleteObject' }[method] ?? method;
    };
    server.httpServer.on('request', (request) => {
      const kind = kindOf(request.method, request.url);
      requests[kind] = (requests[kind] ?? 0) + 1;
    });
    process.on('message', () => {
      const cpu = process.cpuUsage();
      process.send({ requests, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
    });
    process.send({ port });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message.port));
    child.once('exit', (status) => reject(new Error(`s3rver exited with ${status}`)));
  });
  const stats = () =>
    new Promise((resolve) => {
      child.once('message', (message) => resolve({ requests: { ...message.requests }, cpuSeconds: message.cpuSeconds }));
      child.send('stats');
    });
  return { port, stats, stop: () => child.kill('SIGTERM') };
}

const HAS_GNU_TIME = existsSync('/usr/bin/time');

async function writeRandomFile(path, size) {
  const handle = await open(path, 'w');
  const block = 8 * 1024 * 1024;
  for (let written = 0; written < size; written += block) await handle.write(randomBytes(Math.min(block, size - written)));
  await handle.close();
}

/** Run a command; resolves with its CPU seconds (user + system, through GNU time) when known. */
function run(command, argv, env) {
  const cpuFile = HAS_GNU_TIME ? join(work, `cpu-${Date.now()}.txt`) : undefined;
  const [cmd, full] = cpuFile === undefined ? [command, argv] : ['/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, command, ...argv]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, full, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', async (status) => {
      if (status !== 0) return reject(new Error(`${command} ${argv.join(' ')} exited ${status}: ${stderr.slice(-2000)}`));
      if (cpuFile === undefined) return resolve(undefined);
      const [user, system] = (await readFile(cpuFile, 'utf8')).trim().split('\n').pop().split(' ').map(Number);
      resolve(user + system);
    });
  });
}

const round = (x, digits = 2) => (x === undefined || x === null ? null : Number(x.toFixed(digits)));

/**
 * One timed step: flush dirty pages first, then time `fn`, and take the server's CPU and requests
 * around it. `fn` resolves with the client's CPU seconds when it is another process; otherwise the
 * CPU of this process counts (mlship runs here).
 */
async function step(fn) {
  spawnSync('sync');
  const before = await server.stats();
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  const childCpu = await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const own = process.cpuUsage(cpuBefore);
  const after = await server.stats();
  const requests = Object.fromEntries(Object.entries(after.requests).map(([kind, n]) => [kind, n - (before.requests[kind] ?? 0)]).filter(([, n]) => n > 0));
  return {
    seconds,
    clientCpuSeconds: round(typeof childCpu === 'number' ? childCpu : (own.user + own.system) / 1e6),
    serverCpuSeconds: round(after.cpuSeconds - before.cpuSeconds),
    requests,
  };
}

const work = await mkdtemp(join(tmpdir(), 'mlship-bench-s3-'));
const server = await startServer(join(work, 'server'));
const endpoint = `http://127.0.0.1:${server.port}`;
log(`s3rver on ${endpoint}, data in ${work}`);

try {
  // --- inputs
  const large = join(work, 'large.bin');
  await writeRandomFile(large, LARGE);
  const smallDir = join(work, 'small');
  await mkdir(smallDir);
  const smallFiles = [];
  let smallBytes = 0;
  for (let i = 0; i < SMALL_COUNT; i++) {
    // Sizes spread around the average (50%..150%), like a folder of shards, images or checkpoints.
    const size = Math.round(SMALL_AVG * (0.5 + (i % 101) / 100));
    const bytes = randomBytes(size);
    const path = join(smallDir, `part-${String(i).padStart(5, '0')}.bin`);
    await writeFile(path, bytes);
    smallFiles.push({ path, size, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` });
    smallBytes += size;
  }
  log(`inputs: ${(LARGE / MB).toFixed(0)} MB file; ${SMALL_COUNT} files, ${(smallBytes / MB).toFixed(0)} MB`);

  // --- AWS CLI
  const awsEnv = {
    PATH: process.env.PATH,
    HOME: work,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(work, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-credentials'),
    AWS_PAGER: '',
  };
  let awsVersion = 'unavailable';
  try {
    awsVersion = await new Promise((resolve, reject) => {
      const child = spawn(AWS, ['--version'], { env: awsEnv });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.on('error', reject);
      child.on('exit', () => resolve(out.trim()));
    });
  } catch {
    log(`no AWS CLI at ${AWS}: install it with apt-get install -y awscli`);
  }
  const awsRun = (argv) => run(AWS, [...argv, '--endpoint-url', endpoint, '--only-show-errors'], awsEnv);
  const hasAws = awsVersion !== 'unavailable';
  const warmup = Math.min(Number(args.warmup), SMALL_COUNT);
  if (hasAws && warmup > 0) {
    // Untimed: the server's first small PUTs run cold (JIT); neither tool should carry that alone.
    const warmDir = join(work, 'warmup');
    await mkdir(warmDir);
    for (let i = 0; i < warmup; i++) await writeFile(join(warmDir, `w-${i}.bin`), randomBytes(SMALL_AVG));
    await awsRun(['s3', 'sync', warmDir, `s3://${BUCKET}/warmup/`]);
    log(`server warm-up: ${warmup} small PUTs by the AWS CLI (untimed)`);
  }
  // Interleaved (aws, mlship, mlship, aws) so that a change in machine load hits both tools alike.
  const awsLarge = hasAws ? await step(() => awsRun(['s3', 'cp', large, `s3://${BUCKET}/aws/large.bin`])) : null;
  if (awsLarge !== null) log(`aws s3 cp (large): ${awsLarge.seconds.toFixed(2)} s`);
  // --- mlship
  const env = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1' };
  const store = await createS3Store({ url: `s3://${BUCKET}/mlship`, endpoint, forcePathStyle: true }, { env });
  let largeDigest;
  const hashLarge = await step(async () => {
    largeDigest = (await hashFile(large)).digest;
  });
  const mlshipLarge = await step(async () => {
    if (!(await store.putFile(largeDigest, large, LARGE))) throw new Error('large object already present');
  });
  log(`mlship putFile (large): ${mlshipLarge.seconds.toFixed(2)} s (+ ${hashLarge.seconds.toFixed(2)} s hashing)`);
  const hashSmall = await step(async () => {
    for (const file of smallFiles) await hashFile(file.path);
  });
  const concurrency = args.concurrency === undefined ? store.recommendedConcurrency : Number(args.concurrency);
  let summary;
  const mlshipSmall = await step(async () => {
    summary = await putFiles(store, smallFiles, { concurrency });
  });
  if (summary.uploaded !== SMALL_COUNT) throw new Error(`uploaded ${summary.uploaded} of ${SMALL_COUNT}`);
  log(`mlship putFiles (small, concurrency ${concurrency}): ${mlshipSmall.seconds.toFixed(2)} s (+ ${hashSmall.seconds.toFixed(2)} s hashing)`);
  const awsSmall = hasAws ? await step(() => awsRun(['s3', 'sync', smallDir, `s3://${BUCKET}/aws/small/`])) : null;
  if (awsSmall !== null) log(`aws s3 sync (small): ${awsSmall.seconds.toFixed(2)} s`);

  const rerunSmall = await step(() => putFiles(store, smallFiles, { concurrency }));
  await store.close();

  const rate = (bytes, s) => (s === null || s === undefined ? null : Number((bytes / MB / s).toFixed(1)));
  const ratio = (a, b) => (a === null || b === null ? null : Number((a / b).toFixed(2)));
  const count = (requests) => Object.values(requests).reduce((sum, n) => sum + n, 0);
  /** One tool on one workload: time, throughput, CPU on both sides, requests (total, per file, by kind). */
  const figures = (measured, bytes, files) =>
    measured === null
      ? null
      : {
          seconds: round(measured.seconds, 3),
          MBps: rate(bytes, measured.seconds),
          filesPerSecond: files > 1 ? Math.round(files / measured.seconds) : undefined,
          clientCpuSeconds: measured.clientCpuSeconds,
          serverCpuSeconds: measured.serverCpuSeconds,
          requests: count(measured.requests),
          requestsPerFile: round(count(measured.requests) / files, 3),
          requestKinds: measured.requests,
        };
  const results = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    loadAverageAtEnd: (await import('node:os')).loadavg().map((value) => Number(value.toFixed(2))),
    server: 's3rver 3.7.1 (local, own process)',
    aws: awsVersion,
    dist: dirname(dist),
    warmupPuts: hasAws ? warmup : 0,
    large: {
      bytes: LARGE,
      mlship: { ...figures(mlshipLarge, LARGE, 1), hashSeconds: round(hashLarge.seconds, 3), MBpsWithHash: rate(LARGE, mlshipLarge.seconds + hashLarge.seconds) },
      aws: figures(awsLarge, LARGE, 1),
      ratio: ratio(rate(LARGE, mlshipLarge.seconds), rate(LARGE, awsLarge?.seconds)),
      ratioWithHash: ratio(rate(LARGE, mlshipLarge.seconds + hashLarge.seconds), rate(LARGE, awsLarge?.seconds)),
      target: '>= 1.0',
    },
    small: {
      files: SMALL_COUNT,
      bytes: smallBytes,
      concurrency,
      mlship: {
        ...figures(mlshipSmall, smallBytes, SMALL_COUNT),
        hashSeconds: round(hashSmall.seconds, 3),
        MBpsWithHash: rate(smallBytes, mlshipSmall.seconds + hashSmall.seconds),
        rerunSkipAllSeconds: round(rerunSmall.seconds, 3),
        rerunRequests: rerunSmall.requests,
      },
      aws: figures(awsSmall, smallBytes, SMALL_COUNT),
      ratio: ratio(rate(smallBytes, mlshipSmall.seconds), rate(smallBytes, awsSmall?.seconds)),
      ratioWithHash: ratio(rate(smallBytes, mlshipSmall.seconds + hashSmall.seconds), rate(smallBytes, awsSmall?.seconds)),
      target: '>= 2.0',
    },
  };
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 's3.json'), `${JSON.stringify(results, null, 2)}\n`);

  const row = (name, ml, aw, r, rh) => console.log(`${name.padEnd(28)} mlship ${String(ml).padStart(7)} MB/s   aws ${String(aw).padStart(7)} MB/s   ratio ${r}  (with hashing ${rh})`);
  const cpu = (label, f) =>
    f === null ? '' : `${label} ${f.seconds.toFixed(2)} s, CPU client ${f.clientCpuSeconds ?? '?'} s + server ${f.serverCpuSeconds} s, ${f.requests} requests (${f.requestsPerFile}/file)`;
  console.log(`S3 push benchmark (${results.server}; ${awsVersion}; node ${process.version}, ${results.cpus} CPUs, load average ${results.loadAverageAtEnd.join(' ')})`);
  row(`1 file, ${(LARGE / MB).toFixed(0)} MB`, results.large.mlship.MBps, results.large.aws?.MBps ?? null, results.large.ratio, results.large.ratioWithHash);
  console.log(`  ${cpu('mlship', results.large.mlship)}\n  ${cpu('aws   ', results.large.aws)}`);
  row(`${SMALL_COUNT} files, ${(smallBytes / MB).toFixed(0)} MB`, results.small.mlship.MBps, results.small.aws?.MBps ?? null, results.small.ratio, results.small.ratioWithHash);
  console.log(`  ${cpu('mlship', results.small.mlship)}\n  ${cpu('aws   ', results.small.aws)}`);
  console.log(`rerun of the small push (all skipped): ${rerunSmall.seconds.toFixed(2)} s, ${count(rerunSmall.requests)} requests; results in bench/results/s3.json`);
} finally {
  server.stop();
  await rm(work, { recursive: true, force: true });
}
