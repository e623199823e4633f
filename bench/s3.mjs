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
 * The AWS CLI is Debian's (`apt-get install -y awscli`), called by full path because a pip-installed
 * aws 1.x may come first on PATH; set MLSHIP_BENCH_AWS to use another.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const dist = join(root, 'dist', 'store');
if (!existsSync(join(dist, 's3.js'))) {
  console.error('bench/s3.mjs imports the built store: run `npm run build` first');
  process.exit(2);
}
const { createS3Store } = await import(join(dist, 's3.js'));
const { putFiles } = await import(join(dist, 'pool.js'));
const { hashFile } = await import(join(dist, 'hash.js'));

const { values: args } = parseArgs({
  options: {
    'large-mib': { type: 'string', default: '1024' },
    small: { type: 'string', default: '2000' },
    'small-kib': { type: 'string', default: '100' },
    concurrency: { type: 'string' },
  },
});
const LARGE = Number(args['large-mib']) * 1024 * 1024;
const SMALL_COUNT = Number(args.small);
const SMALL_AVG = Number(args['small-kib']) * 1024;
const AWS = process.env.MLSHIP_BENCH_AWS ?? '/usr/bin/aws';
const MB = 1e6;
const BUCKET = 'mlship-bench';
const ACCESS_KEY = 'S3RVER';
const SECRET = 'S3RVER';

const log = (message) => console.error(`[bench] ${message}`);

/** s3rver in a child process; resolves with its port. */
async function startServer(directory) {
  const code = `
    import S3rver from 's3rver';
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(directory)}, configureBuckets: [{ name: ${JSON.stringify(BUCKET)} }] });
    const { port } = await server.run();
    console.log(JSON.stringify({ port }));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line).port);
    });
    child.on('exit', (status) => reject(new Error(`s3rver exited with ${status}`)));
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

async function writeRandomFile(path, size) {
  const handle = await open(path, 'w');
  const block = 8 * 1024 * 1024;
  for (let written = 0; written < size; written += block) await handle.write(randomBytes(Math.min(block, size - written)));
  await handle.close();
}

function run(command, argv, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (status) => (status === 0 ? resolve() : reject(new Error(`${command} ${argv.join(' ')} exited ${status}: ${stderr.slice(-2000)}`))));
  });
}

const seconds = async (fn) => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

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
  // Interleaved (aws, mlship, mlship, aws) so that a change in machine load hits both tools alike.
  const awsLarge = awsVersion === 'unavailable' ? null : await seconds(() => run(AWS, ['s3', 'cp', large, `s3://${BUCKET}/aws/large.bin`, '--endpoint-url', endpoint, '--only-show-errors'], awsEnv));
  if (awsLarge !== null) log(`aws s3 cp (large): ${awsLarge.toFixed(2)} s`);
  // --- mlship
  const env = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1' };
  const store = await createS3Store({ url: `s3://${BUCKET}/mlship`, endpoint, forcePathStyle: true }, { env });
  let largeDigest;
  const hashLarge = await seconds(async () => {
    largeDigest = (await hashFile(large)).digest;
  });
  const mlshipLarge = await seconds(async () => {
    if (!(await store.putFile(largeDigest, large, LARGE))) throw new Error('large object already present');
  });
  log(`mlship putFile (large): ${mlshipLarge.toFixed(2)} s (+ ${hashLarge.toFixed(2)} s hashing)`);
  const hashSmall = await seconds(async () => {
    for (const file of smallFiles) await hashFile(file.path);
  });
  const concurrency = args.concurrency === undefined ? store.recommendedConcurrency : Number(args.concurrency);
  let summary;
  const mlshipSmall = await seconds(async () => {
    summary = await putFiles(store, smallFiles, { concurrency });
  });
  if (summary.uploaded !== SMALL_COUNT) throw new Error(`uploaded ${summary.uploaded} of ${SMALL_COUNT}`);
  log(`mlship putFiles (small, concurrency ${concurrency}): ${mlshipSmall.toFixed(2)} s (+ ${hashSmall.toFixed(2)} s hashing)`);
  const awsSmall = awsVersion === 'unavailable' ? null : await seconds(() => run(AWS, ['s3', 'sync', smallDir, `s3://${BUCKET}/aws/small/`, '--endpoint-url', endpoint, '--only-show-errors'], awsEnv));
  if (awsSmall !== null) log(`aws s3 sync (small): ${awsSmall.toFixed(2)} s`);

  const rerunSmall = await seconds(() => putFiles(store, smallFiles, { concurrency }));
  await store.close();

  const rate = (bytes, s) => (s === null ? null : Number((bytes / MB / s).toFixed(1)));
  const ratio = (a, b) => (a === null || b === null ? null : Number((a / b).toFixed(2)));
  const results = {
    at: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    loadAverageAtEnd: (await import('node:os')).loadavg().map((value) => Number(value.toFixed(2))),
    server: 's3rver 3.7.1 (local, own process)',
    aws: awsVersion,
    large: {
      bytes: LARGE,
      mlship: { seconds: mlshipLarge, MBps: rate(LARGE, mlshipLarge), hashSeconds: hashLarge, MBpsWithHash: rate(LARGE, mlshipLarge + hashLarge) },
      aws: { seconds: awsLarge, MBps: rate(LARGE, awsLarge) },
      ratio: ratio(rate(LARGE, mlshipLarge), rate(LARGE, awsLarge)),
      ratioWithHash: ratio(rate(LARGE, mlshipLarge + hashLarge), rate(LARGE, awsLarge)),
      target: '>= 1.0',
    },
    small: {
      files: SMALL_COUNT,
      bytes: smallBytes,
      concurrency,
      mlship: { seconds: mlshipSmall, MBps: rate(smallBytes, mlshipSmall), filesPerSecond: Number((SMALL_COUNT / mlshipSmall).toFixed(0)), hashSeconds: hashSmall, MBpsWithHash: rate(smallBytes, mlshipSmall + hashSmall), rerunSkipAllSeconds: rerunSmall },
      aws: { seconds: awsSmall, MBps: rate(smallBytes, awsSmall), filesPerSecond: awsSmall === null ? null : Number((SMALL_COUNT / awsSmall).toFixed(0)) },
      ratio: ratio(rate(smallBytes, mlshipSmall), rate(smallBytes, awsSmall)),
      ratioWithHash: ratio(rate(smallBytes, mlshipSmall + hashSmall), rate(smallBytes, awsSmall)),
      target: '>= 2.0',
    },
  };
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 's3.json'), `${JSON.stringify(results, null, 2)}\n`);

  const row = (name, ml, aw, r, rh) => console.log(`${name.padEnd(28)} mlship ${String(ml).padStart(7)} MB/s   aws ${String(aw).padStart(7)} MB/s   ratio ${r}  (with hashing ${rh})`);
  console.log(`S3 push benchmark (${results.server}; ${awsVersion}; node ${process.version}, ${results.cpus} CPUs, load average ${results.loadAverageAtEnd.join(' ')})`);
  row(`1 file, ${(LARGE / MB).toFixed(0)} MB`, results.large.mlship.MBps, results.large.aws.MBps, results.large.ratio, results.large.ratioWithHash);
  row(`${SMALL_COUNT} files, ${(smallBytes / MB).toFixed(0)} MB`, results.small.mlship.MBps, results.small.aws.MBps, results.small.ratio, results.small.ratioWithHash);
  console.log(`rerun of the small push (all skipped): ${rerunSmall.toFixed(2)} s; results in bench/results/s3.json`);
} finally {
  server.stop();
  await rm(work, { recursive: true, force: true });
}
