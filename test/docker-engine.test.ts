/** Reaching the engine as the docker CLI does: DOCKER_HOST, TLS variables, ssh, contexts. No engine needed. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MlshipError } from '../src/errors.js';
import { resolveEngineEndpoint } from '../src/runners/docker-engine.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'mlship-docker-home-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const env = (vars: Record<string, string> = {}) => ({ HOME: home, ...vars });

function catchError(fn: () => unknown): MlshipError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MlshipError);
    return error as MlshipError;
  }
  throw new Error('expected an error');
}

function writeCerts(dir: string, files = ['ca.pem', 'cert.pem', 'key.pem']) {
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(join(dir, file), `${file} contents\n`);
}

function writeContext(name: string, host: string, extra: Record<string, unknown> = {}) {
  const id = createHash('sha256').update(name).digest('hex');
  const dir = join(home, '.docker', 'contexts', 'meta', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false, ...extra } } }));
  return id;
}

describe('resolveEngineEndpoint', () => {
  it('defaults to the local socket', () => {
    const endpoint = resolveEngineEndpoint(env());
    expect(endpoint).toMatchObject({ address: 'unix:///var/run/docker.sock', source: 'default' });
    expect(endpoint.connection).toMatchObject({ socketPath: '/var/run/docker.sock', host: undefined });
  });

  it('keeps every connection key, so docker-modem cannot fill them from process.env', () => {
    const { connection } = resolveEngineEndpoint(env({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }));
    expect(Object.keys(connection).sort()).toEqual(['agent', 'ca', 'cert', 'host', 'key', 'port', 'protocol', 'socketPath', 'sshOptions', 'timeout', 'username', 'version']);
    expect(connection.socketPath).toBe('/run/user/1000/docker.sock');
  });

  it.each([
    ['tcp://10.0.0.5:2375', { host: '10.0.0.5', port: '2375', protocol: 'http' }],
    ['tcp://engine.internal', { host: 'engine.internal', port: '2375', protocol: 'http' }],
    ['10.0.0.5:2375', { host: '10.0.0.5', port: '2375', protocol: 'http' }],
    ['ssh://deploy@gpu-box:2222', { host: 'gpu-box', port: '2222', protocol: 'ssh', username: 'deploy' }],
    ['ssh://gpu-box', { host: 'gpu-box', port: '22', protocol: 'ssh', username: 'ana' }],
  ])('DOCKER_HOST=%s', (host, expected) => {
    const endpoint = resolveEngineEndpoint(env({ DOCKER_HOST: host, USER: 'ana' }));
    expect(endpoint.source).toBe('DOCKER_HOST');
    expect(endpoint.connection).toMatchObject({ socketPath: undefined, ...expected });
  });

  it('uses TLS with verification and DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set', () => {
    const certs = join(home, 'certs');
    writeCerts(certs);
    const { connection } = resolveEngineEndpoint(env({ DOCKER_HOST: 'tcp://engine.internal', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }));
    expect(connection).toMatchObject({ protocol: 'https', port: '2376', host: 'engine.internal' });
    expect(connection.ca?.toString()).toBe('ca.pem contents\n');
    expect(connection.cert?.toString()).toBe('cert.pem contents\n');
    expect(connection.agent?.options.rejectUnauthorized).toBe(true);
  });

  it('reads certificates from ~/.docker without DOCKER_CERT_PATH, and DOCKER_TLS alone does not verify', () => {
    writeCerts(join(home, '.docker'), ['cert.pem', 'key.pem']);
    const { connection } = resolveEngineEndpoint(env({ DOCKER_HOST: 'tcp://engine.internal:2376', DOCKER_TLS: '1' }));
    expect(connection).toMatchObject({ protocol: 'https', ca: undefined });
    expect(connection.key?.toString()).toBe('key.pem contents\n');
    expect(connection.agent?.options.rejectUnauthorized).toBe(false);
  });

  it('refuses TLS verification without a CA, naming DOCKER_CERT_PATH (exit 3)', () => {
    const error = catchError(() => resolveEngineEndpoint(env({ DOCKER_HOST: 'tcp://engine.internal', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(home, 'none') })));
    expect(error).toMatchObject({ code: 'E_DOCKER_TLS', exitCode: 3 });
    expect(error.hint).toContain('DOCKER_CERT_PATH');
  });

  it('takes ssh credentials from the agent, else a default key', () => {
    expect(resolveEngineEndpoint(env({ DOCKER_HOST: 'ssh://u@h', SSH_AUTH_SOCK: '/tmp/agent.sock' })).connection.sshOptions).toEqual({ agent: '/tmp/agent.sock' });
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'KEY');
    expect(resolveEngineEndpoint(env({ DOCKER_HOST: 'ssh://u@h' })).connection.sshOptions?.privateKey?.toString()).toBe('KEY');
  });

  it('never prints a password from DOCKER_HOST', () => {
    expect(resolveEngineEndpoint(env({ DOCKER_HOST: 'ssh://u:hunter2@h' })).address).toBe('ssh://u:***@h');
  });

  it.each(['ftp://engine', 'tcp://'])('refuses DOCKER_HOST=%s (exit 3)', (host) => {
    expect(catchError(() => resolveEngineEndpoint(env({ DOCKER_HOST: host })))).toMatchObject({ code: 'E_DOCKER_HOST', exitCode: 3 });
  });

  it('follows the current context of config.json, like `docker context use`', () => {
    writeContext('colima', `unix://${home}/.colima/default/docker.sock`);
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'colima' }));
    const endpoint = resolveEngineEndpoint(env());
    expect(endpoint).toMatchObject({ source: 'context colima', address: `unix://${home}/.colima/default/docker.sock` });
    expect(endpoint.connection.socketPath).toBe(`${home}/.colima/default/docker.sock`);
  });

  it('lets DOCKER_CONTEXT pick a context, and DOCKER_HOST win over both', () => {
    const id = writeContext('remote', 'tcp://build.internal:2376');
    writeCerts(join(home, '.docker', 'contexts', 'tls', id, 'docker'));
    const remote = resolveEngineEndpoint(env({ DOCKER_CONTEXT: 'remote' }));
    expect(remote.connection).toMatchObject({ host: 'build.internal', protocol: 'https', port: '2376' });
    expect(remote.connection.ca?.toString()).toBe('ca.pem contents\n');
    expect(resolveEngineEndpoint(env({ DOCKER_CONTEXT: 'remote', DOCKER_HOST: 'unix:///x.sock' })).connection.socketPath).toBe('/x.sock');
    expect(resolveEngineEndpoint(env({ DOCKER_CONTEXT: 'default' })).source).toBe('default');
  });

  it('names the missing context and how to list them (exit 3)', () => {
    const error = catchError(() => resolveEngineEndpoint(env({ DOCKER_CONTEXT: 'gone' })));
    expect(error).toMatchObject({ code: 'E_DOCKER_CONTEXT', exitCode: 3 });
    expect(error.message).toContain("'gone'");
    expect(error.hint).toContain('docker context ls');
  });

  it('passes DOCKER_API_VERSION on', () => {
    expect(resolveEngineEndpoint(env({ DOCKER_API_VERSION: '1.41' })).connection.version).toBe('v1.41');
  });
});
