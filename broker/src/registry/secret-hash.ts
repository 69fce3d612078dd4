import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { RegistryError } from './errors.js';

/**
 * Device and service secrets are stored only as scrypt hashes, encoded as
 * `scrypt$N$r$p$<salt base64url>$<hash base64url>` so the cost can be raised later without
 * invalidating existing hashes (each hash carries its own parameters).
 */
export const SCRYPT_DEFAULTS = Object.freeze({
  /** CPU/memory cost, a power of two. 16384 ≈ 16 MiB and ~50 ms per hash on a small server. */
  N: 16384,
  /** Block size. */
  r: 8,
  /** Parallelisation. */
  p: 1,
  /** Salt length in bytes. */
  saltBytes: 16,
  /** Derived key length in bytes. */
  keyBytes: 32,
});

/**
 * Upper bounds accepted when parsing a stored hash, so a tampered registry line cannot make the
 * broker allocate gigabytes per login attempt.
 */
const MAX_N = 1 << 17;
const MAX_R = 16;
const MAX_P = 4;

export interface HashSecretOptions {
  /** scrypt cost; default 16384. Tests lower it (e.g. 1024) to stay fast. Must be a power of two ≥ 2. */
  N?: number;
}

export interface ParsedSecretHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** A fresh random secret: 24 bytes of entropy, base64url (32 characters, no padding). */
export function generateSecret(): string {
  return randomBytes(24).toString('base64url');
}

export async function hashSecret(secret: string, options: HashSecretOptions = {}): Promise<string> {
  const N = options.N ?? SCRYPT_DEFAULTS.N;
  checkParams(N, SCRYPT_DEFAULTS.r, SCRYPT_DEFAULTS.p);
  const salt = randomBytes(SCRYPT_DEFAULTS.saltBytes);
  const { r, p, keyBytes } = SCRYPT_DEFAULTS;
  const hash = await derive(secret, salt, keyBytes, { N, r, p });
  return ['scrypt', N, r, p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * True when `secret` matches `encoded`. Throws RegistryError REGISTRY_ERR_BAD_HASH when the stored
 * hash does not parse: that is a data problem an operator must see, not a wrong password.
 */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const parsed = parseSecretHash(encoded);
  const candidate = await derive(secret, parsed.salt, parsed.hash.length, parsed);
  // Lengths are equal by construction; timingSafeEqual keeps the comparison constant-time.
  return timingSafeEqual(candidate, parsed.hash);
}

export function parseSecretHash(encoded: string): ParsedSecretHash {
  const parts = encoded.split('$');
  if (parts.length !== 6) {
    throw badHash(`expected 6 "$"-separated fields (scrypt$N$r$p$salt$hash), got ${parts.length}`);
  }
  const [scheme, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  if (scheme !== 'scrypt') throw badHash(`unknown scheme "${scheme.slice(0, 20)}"; expected "scrypt"`);
  const N = parseIntField('N', nText);
  const r = parseIntField('r', rText);
  const p = parseIntField('p', pText);
  checkParams(N, r, p);
  const salt = parseBase64urlField('salt', saltText);
  const hash = parseBase64urlField('hash', hashText);
  if (salt.length < 8) throw badHash(`salt is ${salt.length} bytes; expected at least 8`);
  if (hash.length < 16 || hash.length > 64) throw badHash(`hash is ${hash.length} bytes; expected 16..64`);
  return { N, r, p, salt, hash };
}

function derive(secret: string, salt: Buffer, keyBytes: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // Node's default maxmem (32 MiB) is just enough for N=16384,r=8; allow headroom for MAX_N.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + (1 << 20) };
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function checkParams(N: number, r: number, p: number): void {
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) {
    throw badHash(`N must be a power of two between 2 and ${MAX_N}, got ${N}`);
  }
  if (!Number.isInteger(r) || r < 1 || r > MAX_R) throw badHash(`r must be an integer 1..${MAX_R}, got ${r}`);
  if (!Number.isInteger(p) || p < 1 || p > MAX_P) throw badHash(`p must be an integer 1..${MAX_P}, got ${p}`);
}

function parseIntField(name: string, text: string): number {
  if (!/^[0-9]{1,7}$/.test(text)) throw badHash(`${name} must be a decimal integer, got "${text.slice(0, 20)}"`);
  return Number(text);
}

function parseBase64urlField(name: string, text: string): Buffer {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw badHash(`${name} must be base64url (A-Z a-z 0-9 - _), got "${text.slice(0, 20)}"`);
  return Buffer.from(text, 'base64url');
}

function badHash(detail: string): RegistryError {
  return new RegistryError('REGISTRY_ERR_BAD_HASH', `invalid secret hash: ${detail}`);
}
