/** Colour is decided in one place: on for a terminal, off for NO_COLOR, --no-color, --json and pipes. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createOutput, type OutputSettings } from '../src/output/index.js';

function streams(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream: Object.assign(stream, { isTTY: tty }) as unknown as NodeJS.WriteStream, text: () => text };
}

async function render(tty: boolean, extra: Partial<OutputSettings> = {}): Promise<{ out: string; err: string }> {
  const stdout = streams(tty);
  const stderr = streams(tty);
  const output = await createOutput({ json: false, quiet: false, verbose: false, noColor: false, env: { CI: 'true' }, stdout: stdout.stream, stderr: stderr.stream, ...extra });
  output.print(`${output.color.green('ok')} ${output.color.red('bad')}`);
  output.warn('careful');
  await new Promise((resolve) => setImmediate(resolve));
  return { out: stdout.text(), err: stderr.text() };
}

const ESC = '\u001b[';

describe('output colours', () => {
  it('colours a terminal', async () => {
    const { out, err } = await render(true);
    expect(out).toBe(`${ESC}32mok${ESC}39m ${ESC}31mbad${ESC}39m\n`);
    expect(err).toBe(`${ESC}33mwarning:${ESC}39m careful\n`);
  });

  it.each([
    ['a pipe', false, {}],
    ['NO_COLOR', true, { env: { NO_COLOR: '1' } }],
    ['--no-color', true, { noColor: true }],
  ] as const)('prints plain text to %s', async (_, tty, extra) => {
    const { out, err } = await render(tty, extra);
    expect(out).toBe('ok bad\n');
    expect(err).toBe('warning: careful\n');
  });
});
