/**
 * What went wrong talking to S3, in mlship's terms: which failures are worth retrying, and which
 * MlshipError (exit 3 with a hint, or 4 for integrity) a user sees. Reads SDK and Node errors by
 * their documented fields only, never by class, so it needs no SDK import.
 *
 * Secrets: SDK errors can carry the access key id (SignatureDoesNotMatch echoes it, with the string
 * to sign). The raw SDK error is never attached as a cause; we attach a summary rebuilt from safe
 * fields, and scrub every known credential value out of every message.
 */
import { environmentError, integrityError, MlshipError, usageError } from '../errors.js';

/** The fields of an SDK or Node error that we rely on. */
export interface ErrorFacts {
  /** HTTP status, when a response came back. */
  status: number | undefined;
  /** SDK error name (`NoSuchKey`, `AccessDenied`…) or JS error name. */
  name: string;
  /** Node system / TLS error code (`ECONNRESET`, `CERT_HAS_EXPIRED`…). */
  code: string | undefined;
  message: string;
  requestId: string | undefined;
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export function factsOf(error: unknown): ErrorFacts {
  const fields = record(error) ?? {};
  const metadata = record(fields.$metadata);
  const response = record(fields.$response);
  const statusValue = metadata?.httpStatusCode ?? response?.statusCode;
  let code = text(fields.code);
  // The SDK sometimes wraps a socket error: look one level down for its code.
  const cause = record(fields.cause);
  if (code === undefined && cause !== undefined) code = text(cause.code);
  return {
    status: typeof statusValue === 'number' ? statusValue : undefined,
    name: text(fields.name) ?? text(fields.Code) ?? 'Error',
    code,
    message: text(fields.message) ?? String(error),
    requestId: text(metadata?.requestId),
  };
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ECONNREFUSED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'E_S3_TRUNCATED',
]);

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalError',
  'ServiceUnavailable',
  'ConditionalRequestConflict',
  'OperationAborted',
]);

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

const isTls = (facts: ErrorFacts): boolean =>
  (facts.code !== undefined && (TLS_CODES.has(facts.code) || facts.code.startsWith('ERR_SSL_') || facts.code.startsWith('ERR_TLS_'))) ||
  /\b(ssl|tls|certificate)\b/i.test(facts.message);

/** Throttling, 5xx, 408/429, conditional-write races, resets, timeouts, truncated bodies. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof MlshipError) return error.code === 'E_S3_TRUNCATED';
  const facts = factsOf(error);
  if (isTls(facts)) return false;
  if (facts.status !== undefined) return facts.status >= 500 || facts.status === 408 || facts.status === 429 || (facts.status === 409 && facts.name === 'ConditionalRequestConflict');
  if (facts.code !== undefined && TRANSIENT_CODES.has(facts.code)) return true;
  if (TRANSIENT_NAMES.has(facts.name)) return true;
  return /socket hang up|aborted|premature close|other side closed|ECONNRESET/i.test(facts.message);
}

export const statusOf = (error: unknown): number | undefined => factsOf(error).status;

export const isNotFound = (error: unknown): boolean => {
  const facts = factsOf(error);
  return facts.status === 404 || facts.name === 'NoSuchKey' || facts.name === 'NotFound';
};

/** The server refused `If-None-Match: *` because an object is there. */
export const isPreconditionFailed = (error: unknown): boolean => {
  const facts = factsOf(error);
  return facts.status === 412 || facts.name === 'PreconditionFailed';
};

/**
 * The server does not implement conditional writes (older MinIO, Ceph RGW, some gateways answer
 * 501 NotImplemented, or 400 naming the header). Servers that silently ignore the header cannot be
 * told apart; for them the HEAD before every write is the guard.
 */
export const isConditionalUnsupported = (error: unknown): boolean => {
  const facts = factsOf(error);
  if (facts.status === 501 || facts.name === 'NotImplemented') return true;
  return facts.status === 400 && /if-none-match|conditional/i.test(`${facts.name} ${facts.message}`);
};

export interface ErrorContext {
  /** What we were doing, e.g. `upload`, `download`, `check bucket`. */
  operation: string;
  /** `s3://bucket/key` */
  target: string;
  bucket: string;
  endpoint: string | undefined;
  endpointSource: string | undefined;
  profile: string | undefined;
  /** Every credential value to scrub. */
  secrets: readonly string[];
}

export function redact(value: string, secrets: readonly string[]): string {
  let out = value;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

const CREDENTIAL_HINT =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or name a profile with AWS_PROFILE or store.profile (run `aws sso login --profile NAME` for SSO), or run where a container or instance role is available';

/** An SDK or network error, as the MlshipError the user sees. Idempotent on MlshipErrors. */
export function toStoreError(error: unknown, context: ErrorContext): MlshipError {
  if (error instanceof MlshipError) return error;
  const facts = factsOf(error);
  const scrub = (value: string) => redact(value, context.secrets);
  const where = context.endpoint === undefined ? 'AWS S3' : `${scrub(context.endpoint)} (from ${context.endpointSource ?? 'config'})`;
  const summary = scrub(
    [facts.name === 'Error' ? undefined : facts.name, facts.status === undefined ? undefined : `HTTP ${facts.status}`, facts.code, facts.message, facts.requestId === undefined ? undefined : `request id ${facts.requestId}`]
      .filter((part) => part !== undefined)
      .join(': '),
  );
  const options = (hint: string) => ({ hint, cause: new Error(summary), details: { target: context.target, status: facts.status, s3Code: facts.name } });
  const failed = `cannot ${context.operation} ${context.target}`;

  if (facts.name === 'CredentialsProviderError' || /could not load credentials|credential.*(missing|not found)/i.test(facts.message)) {
    const profile = context.profile === undefined ? '' : ` (profile '${context.profile}')`;
    return environmentError('E_S3_CREDENTIALS', `${failed}: no AWS credentials found${profile}`, options(CREDENTIAL_HINT));
  }
  if (/region is missing/i.test(facts.message)) {
    return usageError('E_S3_REGION', `${failed}: no AWS region configured`, options('set store.region in mlship.yaml, or AWS_REGION, or a region in your AWS profile'));
  }
  if (isTls(facts)) {
    return environmentError('E_S3_TLS', `${failed}: TLS failure talking to ${where}: ${scrub(facts.code ?? facts.message)}`, options(
      'check the endpoint scheme (http:// for a server without TLS) and its certificate; for a private CA set NODE_EXTRA_CA_CERTS=/path/to/ca.pem',
    ));
  }
  if (facts.status === undefined) {
    if (facts.code === 'ENOTFOUND' || facts.code === 'EAI_AGAIN') {
      return environmentError('E_S3_UNREACHABLE', `${failed}: cannot resolve the host of ${where}`, options('check the store endpoint (store.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) and your DNS or network'));
    }
    if (facts.code !== undefined || facts.name === 'TimeoutError' || isRetryable(error)) {
      return environmentError('E_S3_UNREACHABLE', `${failed}: ${where} did not answer (${scrub(facts.code ?? facts.name)})`, options(
        'check that the endpoint is up and reachable (store.endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) and retry; transient failures were already retried with backoff',
      ));
    }
  }
  switch (facts.name) {
    case 'NoSuchBucket':
      return environmentError('E_S3_NO_BUCKET', `${failed}: bucket '${context.bucket}' does not exist at ${where}`, options(`create it (aws s3 mb s3://${context.bucket}) or fix the bucket name in mlship.yaml's store`));
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return environmentError('E_S3_CREDENTIALS', `${failed}: the credentials were rejected (${facts.name})`, options(`check or refresh your credentials: ${CREDENTIAL_HINT}`));
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return usageError('E_S3_REGION', `${failed}: the bucket '${context.bucket}' is in another region (${facts.name})`, options("set store.region (or AWS_REGION) to the bucket's region"));
    case 'NoSuchUpload':
      return environmentError('E_S3_UPLOAD', `${failed}: the multipart upload disappeared (aborted by a lifecycle rule or another client)`, options('run the push again: objects already stored are skipped'));
    default:
      break;
  }
  if (facts.status === 403) {
    return environmentError('E_S3_ACCESS', `${failed}: access denied (${facts.name})`, options(
      `grant the identity s3:GetObject, s3:PutObject and s3:ListBucket on bucket '${context.bucket}' and the store prefix (without ListBucket, S3 answers 403 for missing objects); with sse: aws:kms also kms:GenerateDataKey and kms:Decrypt`,
    ));
  }
  if (facts.status === 404) {
    return environmentError('E_S3_NO_BUCKET', `${failed}: not found at ${where} (${facts.name})`, options(`check that bucket '${context.bucket}' exists and that the endpoint is right`));
  }
  if (facts.status === 301 || facts.status === 307) {
    return usageError('E_S3_REGION', `${failed}: the bucket answered with a redirect (it lives in another region)`, options("set store.region (or AWS_REGION) to the bucket's region"));
  }
  if (facts.status !== undefined && facts.status >= 500) {
    return environmentError('E_S3_UNAVAILABLE', `${failed}: the server kept failing (${facts.name}, HTTP ${facts.status})`, options('the request was retried with backoff; try again later, or raise AWS_MAX_ATTEMPTS'));
  }
  return environmentError('E_S3', `${failed}: ${summary}`, options('see the message from the server; rerun with --verbose for details'));
}

/** Bytes under a digest key do not hash to it. */
export const corruptObjectError = (target: string, digest: string, actual: string, size: number) =>
  integrityError('E_DIGEST', `object ${target} is corrupt: its ${size} bytes hash to ${actual}, not ${digest}`, {
    hint: `the stored object was altered or damaged; delete it (aws s3 rm ${target}) and push the artifact again from a good copy`,
    details: { target, expected: digest, actual },
  });

/** The response body ended before Content-Length: retryable (and resumed with a Range request). */
export const truncatedError = (target: string, received: number, expected: number) =>
  environmentError('E_S3_TRUNCATED', `download of ${target} stopped after ${received} of ${expected} bytes`, {
    hint: 'the connection to the store dropped; run the command again',
  });
