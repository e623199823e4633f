/**
 * The artifact store contract (DESIGN.md "The artifact store").
 *
 * Objects are addressed by the sha256 of their bytes. `digest` arguments are always the full form
 * `sha256:<64 hex>`. Implementations must:
 * - never overwrite an existing object (skip when present);
 * - write atomically: nothing but whole, correct objects ever appears under a final key;
 * - verify bytes against the key on every read, and write nothing to a destination unless they match.
 */
export interface ArtifactStore {
  /** `file` or `s3`. */
  readonly kind: 'file' | 's3';
  /** The store's base URL as the user wrote it, resolved (e.g. `file:///repo/.mlship/store`, `s3://bucket/prefix`). */
  readonly url: string;
  /** The URI of one object, recorded in register events. */
  uriOf(digest: string): string;
  has(digest: string): Promise<boolean>;
  /**
   * Store the file at `path` (already hashed to `digest`, `size` bytes) unless the object exists.
   * Returns true when bytes were written, false when the object was already there.
   * Implementations re-check the digest while they copy, and throw E_DIGEST (exit 4) when the file
   * changed under them.
   */
  putFile(digest: string, path: string, size: number, progress?: ProgressSink): Promise<boolean>;
  /** Store small in-memory bytes (tree objects, sketches). Same rules as putFile. */
  putBytes(digest: string, bytes: Uint8Array): Promise<boolean>;
  /** Copy an object to `dest` (created atomically), verifying it. Throws E_OBJECT_MISSING (3) / E_DIGEST (4). */
  getFile(digest: string, dest: string, progress?: ProgressSink): Promise<void>;
  /** Read a small object into memory, verified. */
  getBytes(digest: string): Promise<Buffer>;
  /** Re-hash an object in place: `ok`, `missing` or `corrupt`. Used by `verify --store`. */
  check(digest: string): Promise<'ok' | 'missing' | 'corrupt'>;
  /** Release sockets and handles. */
  close(): Promise<void>;
  /** How many puts to run at once (a network store wants more than a disk). */
  readonly recommendedConcurrency?: number;
}

/** Receives byte counts as they move, for progress display. */
export type ProgressSink = (bytes: number) => void;

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** `sha256:abcd…` -> `objects/sha256/ab/cd…` (relative, `/`-separated). */
export const objectKey = (digest: string): string => {
  const hex = digest.slice('sha256:'.length);
  return `objects/sha256/${hex.slice(0, 2)}/${hex.slice(2)}`;
};
