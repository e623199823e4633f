/**
 * How to reach a Docker engine, decided the way the docker CLI decides it:
 * `DOCKER_HOST` (with `DOCKER_TLS_VERIFY`, `DOCKER_TLS`, `DOCKER_CERT_PATH`), else `DOCKER_CONTEXT`,
 * else the `currentContext` of `$DOCKER_CONFIG/config.json`, else `unix:///var/run/docker.sock`.
 *
 * The environment is passed in (core code never reads `process.env`); the only I/O is reading the
 * docker CLI's own files (config.json, context metadata, TLS material, an ssh key).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { environmentError, messageOf } from '../errors.js';

/** What dockerode's constructor receives. Every key is present (see `toDockerodeOptions`). */
export interface EngineConnection {
  socketPath: string | undefined;
  host: string | undefined;
  port: string | undefined;
  protocol: 'http' | 'https' | 'ssh' | undefined;
  username: string | undefined;
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  /** TLS agent: carries `rejectUnauthorized: false` for DOCKER_TLS without DOCKER_TLS_VERIFY. */
  agent: HttpsAgent | undefined;
  sshOptions: { agent?: string; privateKey?: Buffer } | undefined;
  version: string | undefined;
  timeout: number | undefined;
}

export interface EngineEndpoint {
  /** The endpoint as a user would write it, without credentials: `unix:///var/run/docker.sock`. */
  address: string;
  /** Where it came from, for error messages. */
  source: 'DOCKER_HOST' | `context ${string}` | 'default';
  connection: EngineConnection;
}

export type ProcessEnv = Record<string, string | undefined>;

const DEFAULT_SOCKET = '/var/run/docker.sock';

const emptyConnection = (): EngineConnection => ({
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  agent: undefined,
  sshOptions: undefined,
  version: undefined,
  timeout: undefined,
});

const home = (env: ProcessEnv): string => env.HOME ?? env.USERPROFILE ?? homedir();
const dockerConfigDir = (env: ProcessEnv): string => env.DOCKER_CONFIG ?? join(home(env), '.docker');

/** Resolves the engine endpoint from the environment and the docker CLI's configuration files. */
export function resolveEngineEndpoint(env: ProcessEnv): EngineEndpoint {
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) {
    const tls = tlsFromEnv(env);
    return withApiSettings(env, { address: redact(dockerHost), source: 'DOCKER_HOST', connection: parseHost(dockerHost, tls, env) });
  }
  const contextName = env.DOCKER_CONTEXT?.trim() || currentContext(env);
  if (contextName && contextName !== 'default') return withApiSettings(env, contextEndpoint(contextName, env));
  return withApiSettings(env, { address: `unix://${DEFAULT_SOCKET}`, source: 'default', connection: { ...emptyConnection(), socketPath: DEFAULT_SOCKET } });
}

function withApiSettings(env: ProcessEnv, endpoint: EngineEndpoint): EngineEndpoint {
  const version = env.DOCKER_API_VERSION?.trim();
  if (version) endpoint.connection.version = version.startsWith('v') ? version : `v${version}`;
  return endpoint;
}

interface TlsSettings {
  enabled: boolean;
  verify: boolean;
  certDir: string;
  /** Names the setting that chose certDir, for hints. */
  source: string;
}

function tlsFromEnv(env: ProcessEnv): TlsSettings {
  // The docker CLI treats any non-empty value as "on" (DOCKER_TLS_VERIFY=0 still verifies).
  const verify = Boolean(env.DOCKER_TLS_VERIFY);
  return { enabled: verify || Boolean(env.DOCKER_TLS), verify, certDir: env.DOCKER_CERT_PATH || dockerConfigDir(env), source: 'DOCKER_CERT_PATH' };
}

function parseHost(raw: string, tls: TlsSettings, env: ProcessEnv): EngineConnection {
  const value = raw.includes('://') ? raw : `tcp://${raw}`;
  const scheme = value.slice(0, value.indexOf('://')).toLowerCase();
  const rest = value.slice(value.indexOf('://') + 3);
  if (scheme === 'unix' || scheme === 'npipe') {
    const socketPath = rest || (scheme === 'unix' ? DEFAULT_SOCKET : '//./pipe/docker_engine');
    return { ...emptyConnection(), socketPath };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw badHost(raw, messageOf(error));
  }
  if (!url.hostname) throw badHost(raw, 'no host name');
  if (scheme === 'ssh') {
    return {
      ...emptyConnection(),
      host: url.hostname,
      port: url.port || '22',
      protocol: 'ssh',
      username: decodeURIComponent(url.username) || env.USER || env.LOGNAME,
      sshOptions: sshCredentials(env),
    };
  }
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'https') {
    throw badHost(raw, `unsupported scheme '${scheme}://'`);
  }
  const useTls = tls.enabled || scheme === 'https';
  const connection: EngineConnection = {
    ...emptyConnection(),
    host: url.hostname,
    port: url.port || (useTls ? '2376' : '2375'),
    protocol: useTls ? 'https' : 'http',
  };
  if (useTls) Object.assign(connection, tlsMaterial(tls.certDir, tls.verify, tls.source));
  return connection;
}

function tlsMaterial(dir: string, verify: boolean, what: string): Pick<EngineConnection, 'ca' | 'cert' | 'key' | 'agent'> {
  const read = (file: string): Buffer | undefined => {
    const path = join(dir, file);
    if (!existsSync(path)) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw environmentError('E_DOCKER_TLS', `cannot read ${path}: ${messageOf(error)}`, {
        hint: `Check ${what}: it must name a folder holding ca.pem, cert.pem and key.pem readable by you.`,
      });
    }
  };
  const ca = verify ? read('ca.pem') : undefined;
  const cert = read('cert.pem');
  const key = read('key.pem');
  if (verify && ca === undefined) {
    throw environmentError('E_DOCKER_TLS', `TLS verification is on but ${join(dir, 'ca.pem')} does not exist`, {
      hint: `Point ${what} at the folder holding ca.pem, cert.pem and key.pem for the engine (as for \`docker --tlsverify\`).`,
    });
  }
  const agent = new HttpsAgent({ ca, cert, key, rejectUnauthorized: verify, keepAlive: false });
  return { ca, cert, key, agent };
}

/**
 * ssh: like the docker CLI, run `docker system dial-stdio` on the remote host. The CLI uses the ssh
 * binary; dockerode uses ssh2, so credentials come from the ssh agent, else the first default key.
 */
function sshCredentials(env: ProcessEnv): EngineConnection['sshOptions'] {
  if (env.SSH_AUTH_SOCK) return { agent: env.SSH_AUTH_SOCK };
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const path = join(home(env), '.ssh', name);
    if (existsSync(path)) {
      try {
        return { privateKey: readFileSync(path) };
      } catch {
        // an unreadable key is skipped, as ssh does
      }
    }
  }
  return {};
}

function currentContext(env: ProcessEnv): string | undefined {
  const path = join(dockerConfigDir(env), 'config.json');
  if (!existsSync(path)) return undefined;
  try {
    const config: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof config === 'object' && config !== null && 'currentContext' in config && typeof config.currentContext === 'string') {
      return config.currentContext;
    }
  } catch {
    // The docker CLI refuses a broken config.json too, but only for commands that need it; an
    // unreadable file here falls back to the default engine, and a failure to connect says where.
  }
  return undefined;
}

function contextEndpoint(name: string, env: ProcessEnv): EngineEndpoint {
  const id = createHash('sha256').update(name).digest('hex');
  const dir = dockerConfigDir(env);
  const metaPath = join(dir, 'contexts', 'meta', id, 'meta.json');
  let meta: unknown;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (error) {
    throw environmentError('E_DOCKER_CONTEXT', `Docker context '${name}' not found (${metaPath}: ${messageOf(error)})`, {
      hint: 'List contexts with `docker context ls`; select one with `docker context use NAME` or DOCKER_CONTEXT, or set DOCKER_HOST.',
    });
  }
  const endpoint = contextDockerEndpoint(meta);
  if (endpoint === undefined) {
    throw environmentError('E_DOCKER_CONTEXT', `Docker context '${name}' has no docker endpoint (${metaPath})`, {
      hint: 'Recreate it with `docker context create NAME --docker host=...`, or set DOCKER_HOST.',
    });
  }
  const tlsDir = join(dir, 'contexts', 'tls', id, 'docker');
  const tls: TlsSettings = { enabled: existsSync(tlsDir), verify: !endpoint.skipTlsVerify, certDir: tlsDir, source: `the TLS folder of context '${name}'` };
  const connection = parseHost(endpoint.host, tls, env);
  return { address: redact(endpoint.host), source: `context ${name}`, connection };
}

function contextDockerEndpoint(meta: unknown): { host: string; skipTlsVerify: boolean } | undefined {
  if (typeof meta !== 'object' || meta === null || !('Endpoints' in meta)) return undefined;
  const endpoints = meta.Endpoints;
  if (typeof endpoints !== 'object' || endpoints === null || !('docker' in endpoints)) return undefined;
  const docker = endpoints.docker;
  if (typeof docker !== 'object' || docker === null || !('Host' in docker) || typeof docker.Host !== 'string') return undefined;
  const skip = 'SkipTLSVerify' in docker && docker.SkipTLSVerify === true;
  return { host: docker.Host, skipTlsVerify: skip };
}

/**
 * Drops a password from `ssh://user:pass@host` so the address can be printed. The userinfo ends at
 * the last `@` before the host (a password may itself hold `/`, `:` or `@`).
 */
export function redact(address: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i.exec(address);
  if (scheme === null) return address;
  const rest = scheme[2] as string;
  const at = rest.lastIndexOf('@');
  if (at < 0) return address;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return colon < 0 ? address : `${scheme[1]}${userinfo.slice(0, colon)}:***@${rest.slice(at + 1)}`;
}

const badHost = (raw: string, why: string) =>
  environmentError('E_DOCKER_HOST', `DOCKER_HOST '${redact(raw)}' is not a valid engine address: ${why}`, {
    hint: 'Use unix:///var/run/docker.sock, tcp://HOST:2376 (with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), or ssh://USER@HOST.',
  });
