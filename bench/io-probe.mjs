/**
 * Preloaded with `node --import bench/io-probe.mjs …` by the benchmarks: at exit, copies this
 * process's kernel I/O counters (/proc/self/io: rchar = bytes read through read()/pread(), all
 * files and pipes) to the file named by MLSHIP_BENCH_IO. Proves that a command re-read no artifact.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.MLSHIP_BENCH_IO;
if (out) process.on('exit', () => writeFileSync(out, readFileSync('/proc/self/io', 'utf8')));
