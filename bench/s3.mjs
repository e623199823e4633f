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
 *
 * An external server instead of s3rver (for instance Ceph RGW from bench/rgw.sh):
 *
 *   eval "$(bench/rgw.sh)"
 *   node bench/s3.mjs --endpoint "$MLSHIP_BENCH_ENDPOINT" --server-pid "$MLSHIP_BENCH_SERVER_PIDS"
 *
 * `--endpoint URL` (path-style), `--bucket NAME` (default mlship-bench, created when missing), and
 * the credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AWS_DEFAULT_REGION or AWS_REGION,
 * else us-east-1). Each run writes under its own prefix (`run-<time>/`), deleted at the end, so that
 * runs neither skip nor list each other's objects. The requests by kind are then unknown (null); the
 * server's CPU is the utime + stime of the processes given by `--server-pid PID[,PID...]` (read from
 * /proc before and after each step, all threads included; for RGW give radosgw, ceph-osd and
 * ceph-mon), else null.
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
    endpoint: { type: 'string' },
    bucket: { type: 'string' },
    'server-pid': { type: 'string' },
  },
});
const EXTERNAL = args.endpoint !== undefined;
if (!EXTERNAL && (args.bucket !== undefined || args['server-pid'] !== undefined)) {
  console.error('bench/s3.mjs: --bucket and --server-pid go with --endpoint');
  process.exit(2);
}
if (EXTERNAL && (process.env.AWS_ACCESS_KEY_ID === undefined || process.env.AWS_SECRET_ACCESS_KEY === undefined)) {
  console.error('bench/s3.mjs --endpoint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (eval "$(bench/rgw.sh)" prints them for RGW)');
  process.exit(2);
}
// bench/run.mjs hands over a frozen copy of the build (MLSHIP_BENCH_BIN = <copy>/bin/mlship), so that
// concurrent work rebuilding dist/ cannot change the code under test mid-run.
const frozen = process.env.MLSHIP_BENCH_BIN === undefined ? undefined : join(dirname(process.env.MLSHIP_BENCH_BIN), '..', 'dist');
const dist = join(args.dist ?? frozen ?? join(root, 'dist'), 'store');
if (!existsSync(join(dist, 's3.js'))) {
  console.error(`bench/s3.mjs imports the built store (${dist}): run \`npm run build\` first`);
  process.exit(2);
}
// The SDK's notice about Node 20 (printed on every client) says nothing this bench can act on; the
// CLI silences it the same way (src/cli.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { createS3Store } = await import(join(dist, 's3.js'));
const { putFiles } = await import(join(dist, 'pool.js'));
const { hashFile } = await import(join(dist, 'hash.js'));
const LARGE = Number(args['large-mib']) * 1024 * 1024;
const SMALL_COUNT = Number(args.small);
const SMALL_AVG = Number(args['small-kib']) * 1024;
const AWS = process.env.MLSHIP_BENCH_AWS ?? '/usr/bin/aws';
const MB = 1e6;
const BUCKET = args.bucket ?? 'mlship-bench';
const ACCESS_KEY = EXTERNAL ? process.env.AWS_ACCESS_KEY_ID : 'S3RVER';
const SECRET = EXTERNAL ? process.env.AWS_SECRET_ACCESS_KEY : 'S3RVER';
const REGION = EXTERNAL ? (process.env.AWS_DEFAULT_REGION ?? process.env.AWS_REGION ?? 'us-east-1') : 'us-east-1';
// Every key of this run goes under PREFIX: '' for s3rver (a fresh store each run), `run-<time>/` on an
// external server, where earlier runs may have left objects.
const PREFIX = EXTERNAL ? `run-${new Date().toISOString().replace(/[-:.]/g, '')}/` : '';

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

/**
 * An S3 server run by someone else (--endpoint). No request counts; CPU seconds of the --server-pid
 * processes from /proc/PID/stat (utime + stime, fields 14 and 15, in clock ticks), else null.
 */
function externalServer(url, pidList) {
  const pids = pidList === undefined ? [] : pidList.split(',').filter((pid) => pid !== '').map(Number);
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const cpuOf = async (pid) => {
    // The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks; // fields 14, 15 of the whole line
  };
  const stats = async () => ({
    requests: null,
    cpuSeconds: pids.length === 0 ? null : (await Promise.all(pids.map(cpuOf))).reduce((sum, s) => sum + s, 0),
    perPid: pids.length === 0 ? null : Object.fromEntries(await Promise.all(pids.map(async (pid) => [pid, await cpuOf(pid)]))),
  });
  return { url, pids, stats, stop: () => {} };
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
  // An external server counts no requests (null), and its CPU is null without --server-pid.
  const requests =
    after.requests === null
      ? null
      : Object.fromEntries(Object.entries(after.requests).map(([kind, n]) => [kind, n - (before.requests[kind] ?? 0)]).filter(([, n]) => n > 0));
  return {
    seconds,
    clientCpuSeconds: round(typeof childCpu === 'number' ? childCpu : (own.user + own.system) / 1e6),
    serverCpuSeconds: after.cpuSeconds === null ? null : round(after.cpuSeconds - before.cpuSeconds),
    serverCpuByPid:
      after.perPid === null || after.perPid === undefined
        ? undefined
        : Object.fromEntries(Object.entries(after.perPid).map(([pid, s]) => [pid, round(s - before.perPid[pid])])),
    requests,
  };
}

const work = await mkdtemp(join(tmpdir(), 'mlship-bench-s3-'));
const server = EXTERNAL ? externalServer(args.endpoint, args['server-pid']) : await startServer(join(work, 'server'));
const endpoint = EXTERNAL ? args.endpoint.replace(/\/+$/, '') : `http://127.0.0.1:${server.port}`;
if (EXTERNAL) log(`external server ${endpoint}, bucket ${BUCKET}, prefix ${PREFIX}; server CPU from pids ${server.pids.join(',') || '(none: null)'}; data in ${work}`);
else log(`s3rver on ${endpoint}, data in ${work}`);
const loadAverageAtStart = (await import('node:os')).loadavg().map((value) => Number(value.toFixed(2)));

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
    AWS_DEFAULT_REGION: REGION,
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
  if (EXTERNAL) {
    if (!hasAws) throw new Error(`--endpoint needs the AWS CLI (${AWS}) to create the bucket and clean up`);
    // Untimed: create the bucket unless it is there.
    const plain = (argv) => run(AWS, [...argv, '--endpoint-url', endpoint], awsEnv);
    await plain(['s3api', 'head-bucket', '--bucket', BUCKET]).catch(() => plain(['s3', 'mb', `s3://${BUCKET}`]));
  }
  const warmup = Math.min(Number(args.warmup), SMALL_COUNT);
  if (hasAws && warmup > 0) {
    // Untimed: the server's first small PUTs run cold (JIT); neither tool should carry that alone.
    const warmDir = join(work, 'warmup');
    await mkdir(warmDir);
    for (let i = 0; i < warmup; i++) await writeFile(join(warmDir, `w-${i}.bin`), randomBytes(SMALL_AVG));
    await awsRun(['s3', 'sync', warmDir, `s3://${BUCKET}/${PREFIX}warmup/`]);
    log(`server warm-up: ${warmup} small PUTs by the AWS CLI (untimed)`);
  }
  // Interleaved (aws, mlship, mlship, aws) so that a change in machine load hits both tools alike.
  const awsLarge = hasAws ? await step(() => awsRun(['s3', 'cp', large, `s3://${BUCKET}/${PREFIX}aws/large.bin`])) : null;
  if (awsLarge !== null) log(`aws s3 cp (large): ${awsLarge.seconds.toFixed(2)} s`);
  // --- mlship
  const env = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: REGION };
  const store = await createS3Store({ url: `s3://${BUCKET}/${PREFIX}mlship`, endpoint, forcePathStyle: true }, { env });
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
  const awsSmall = hasAws ? await step(() => awsRun(['s3', 'sync', smallDir, `s3://${BUCKET}/${PREFIX}aws/small/`])) : null;
  if (awsSmall !== null) log(`aws s3 sync (small): ${awsSmall.seconds.toFixed(2)} s`);

  const rerunSmall = await step(() => putFiles(store, smallFiles, { concurrency }));
  await store.close();

  const rate = (bytes, s) => (s === null || s === undefined ? null : Number((bytes / MB / s).toFixed(1)));
  const ratio = (a, b) => (a === null || b === null ? null : Number((a / b).toFixed(2)));
  const count = (requests) => (requests === null ? null : Object.values(requests).reduce((sum, n) => sum + n, 0));
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
          serverCpuByPid: measured.serverCpuByPid,
          requests: count(measured.requests),
          requestsPerFile: measured.requests === null ? null : round(count(measured.requests) / files, 3),
          requestKinds: measured.requests,
        };
  const results = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    loadAverageAtStart,
    loadAverageAtEnd: (await import('node:os')).loadavg().map((value) => Number(value.toFixed(2))),
    server: EXTERNAL ? `external: ${endpoint}` : 's3rver 3.7.1 (local, own process)',
    serverPids: EXTERNAL ? server.pids : undefined,
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
    f === null
      ? ''
      : `${label} ${f.seconds.toFixed(2)} s, CPU client ${f.clientCpuSeconds ?? '?'} s + server ${f.serverCpuSeconds ?? '?'} s` +
        (f.requests === null ? '' : `, ${f.requests} requests (${f.requestsPerFile}/file)`);
  console.log(`S3 push benchmark (${results.server}; ${awsVersion}; node ${process.version}, ${results.cpus} CPUs, load average ${results.loadAverageAtEnd.join(' ')})`);
  row(`1 file, ${(LARGE / MB).toFixed(0)} MB`, results.large.mlship.MBps, results.large.aws?.MBps ?? null, results.large.ratio, results.large.ratioWithHash);
  console.log(`  ${cpu('mlship', results.large.mlship)}\n  ${cpu('aws   ', results.large.aws)}`);
  row(`${SMALL_COUNT} files, ${(smallBytes / MB).toFixed(0)} MB`, results.small.mlship.MBps, results.small.aws?.MBps ?? null, results.small.ratio, results.small.ratioWithHash);
  console.log(`  ${cpu('mlship', results.small.mlship)}\n  ${cpu('aws   ', results.small.aws)}`);
  const rerunRequests = rerunSmall.requests === null ? '' : `, ${count(rerunSmall.requests)} requests`;
  console.log(`rerun of the small push (all skipped): ${rerunSmall.seconds.toFixed(2)} s${rerunRequests}; results in bench/results/s3.json`);
} finally {
  if (EXTERNAL) {
    // Untimed, best effort: the run's objects, so that repeated runs do not fill the server.
    const cleanup = spawnSync(AWS, ['s3', 'rm', `s3://${BUCKET}/${PREFIX}`, '--recursive', '--only-show-errors', '--endpoint-url', endpoint], {
      env: { PATH: process.env.PATH, HOME: work, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_DEFAULT_REGION: REGION, AWS_PAGER: '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (cleanup.status !== 0) log(`could not delete s3://${BUCKET}/${PREFIX} (exit ${cleanup.status})`);
  }
  server.stop();
  await rm(work, { recursive: true, force: true });
}
