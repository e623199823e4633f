/**
 * A fault-injecting HTTP proxy for the S3 tests: it sits between mlship and the S3 server and, for a
 * chosen fraction of requests, misbehaves the way real networks and servers do:
 *
 * - `500`      answers 500 InternalError (S3's XML error body) without contacting the server;
 * - `503`      answers 503 SlowDown (S3's throttling answer) without contacting the server;
 * - `reset`    destroys the client connection without contacting the server;
 * - `delay`    waits `delayMs`, then forwards normally (slow, but succeeds);
 * - `truncate` forwards the request (the server really does the work), then sends the response
 *              headers and only half the body before destroying the connection: a lost answer to
 *              a PUT, a body cut short on a GET;
 * - `403`      answers 403 AccessDenied (a policy that refuses the identity);
 * - `signature` answers 403 SignatureDoesNotMatch, echoing the access key id and the string to sign
 *              as AWS S3 does (a wrong secret; s3rver itself does not check SigV4 signatures).
 * - `redirect` answers 301 PermanentRedirect with `x-amz-bucket-region: eu-west-1`, as AWS S3 does
 *              for a bucket asked for in the wrong region.
 *
 * With `rejectConditionalWrites`, a write carrying `If-None-Match` is answered 501 NotImplemented,
 * as servers without conditional writes do.
 *
 * Faults are decided before any byte reaches the server (except `truncate`, which by design lets it
 * through), so a request body is never cut in the middle: the proxy exercises the client's retries,
 * not a test server's handling of aborted uploads.
 *
 * The Host header is forwarded unchanged: SigV4 signs it, and the server checks the signature with it.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind = '500' | '503' | 'reset' | 'delay' | 'truncate' | '403' | 'signature' | 'redirect';

export const ALL_FAULTS: readonly FaultKind[] = ['500', '503', 'reset', 'delay', 'truncate'];
/** Faults that make the request fail (no `delay`): at rate 1 nothing gets through. */
export const FAILING_FAULTS: readonly FaultKind[] = ['500', '503', 'reset', 'truncate'];
/** Faults where no request reaches the server: a network that is really down. */
export const UNREACHABLE_FAULTS: readonly FaultKind[] = ['500', '503', 'reset'];

export interface FaultProxyOptions {
  /** The server, e.g. http://127.0.0.1:4568 */
  target: string;
  /** Fraction of requests that get a fault, 0..1. */
  rate: number;
  faults?: readonly FaultKind[];
  delayMs?: number;
  /** Deterministic choices for a reproducible run; Math.random by default. */
  random?: () => number;
  rejectConditionalWrites?: boolean;
  /** Inject faults only into requests with these methods (e.g. ['PUT', 'POST'] for writes); all by default. */
  methods?: readonly string[];
  /** Sees every request (method, url, headers) before any fault: for asserting what the client sends. */
  onRequest?: (request: { method: string; url: string; headers: IncomingMessage['headers'] }) => void;
}

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  setRate(rate: number): void;
  /** Requests seen, and faults injected by kind. */
  stats: { requests: number; faults: Record<FaultKind, number>; conditionalRejected: number };
  close(): Promise<void>;
}

const xmlError = (code: string, message: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>fault-proxy</RequestId></Error>`;

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const faults = options.faults ?? ALL_FAULTS;
  const random = options.random ?? Math.random;
  const delayMs = options.delayMs ?? 200;
  let rate = options.rate;
  const stats = { requests: 0, faults: { '500': 0, '503': 0, reset: 0, delay: 0, truncate: 0, '403': 0, signature: 0, redirect: 0 } as Record<FaultKind, number>, conditionalRejected: 0 };
  const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 256 });
  const sockets = new Set<Socket>();

  const answer = (req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, extra = '', headers: Record<string, string> = {}) => {
    // Read the request body first, as a server would, so the client sees an answer, not a broken pipe.
    req.resume();
    req.on('end', () => {
      const body = xmlError(code, message, extra);
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'fault-proxy', ...headers });
      res.end(body);
    });
  };

  const forward = (req: IncomingMessage, res: ServerResponse, truncate: boolean) => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: upstreamAgent,
      },
      (upstreamRes) => {
        if (!truncate) {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
        upstreamRes.on('end', () => {
          const body = Buffer.concat(chunks);
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          // Half the body (possibly nothing), then the connection drops.
          res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
        });
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    stats.requests++;
    options.onRequest?.({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (options.rejectConditionalWrites === true && req.headers['if-none-match'] !== undefined && (req.method === 'PUT' || req.method === 'POST')) {
      stats.conditionalRejected++;
      answer(req, res, 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
      return;
    }
    const eligible = options.methods === undefined || options.methods.includes(req.method ?? '');
    if (!eligible || random() >= rate || faults.length === 0) {
      forward(req, res, false);
      return;
    }
    const kind = faults[Math.min(faults.length - 1, Math.floor(random() * faults.length))] as FaultKind;
    stats.faults[kind]++;
    switch (kind) {
      case '500':
        answer(req, res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
        return;
      case '503':
        answer(req, res, 503, 'SlowDown', 'Please reduce your request rate.');
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'delay':
        setTimeout(() => forward(req, res, false), delayMs);
        return;
      case 'truncate':
        forward(req, res, true);
        return;
      case '403':
        answer(req, res, 403, 'AccessDenied', 'Access Denied');
        return;
      case 'redirect':
        answer(req, res, 301, 'PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.', '', { 'x-amz-bucket-region': 'eu-west-1' });
        return;
      case 'signature': {
        const accessKeyId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const echo = `<AWSAccessKeyId>${accessKeyId}</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n${accessKeyId}</StringToSign><SignatureProvided>0000</SignatureProvided>`;
        answer(req, res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', echo);
        return;
      }
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setRate(next: number) {
      rate = next;
    },
    stats,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstreamAgent.destroy();
    },
  };
}
