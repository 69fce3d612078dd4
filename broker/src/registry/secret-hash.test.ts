import { describe, expect, it } from 'vitest';
import { isRegistryError } from './errors.js';
import { generateSecret, hashSecret, parseSecretHash, SCRYPT_DEFAULTS, verifySecret } from './secret-hash.js';

describe('secret-hash', () => {
  it('generates 32-character base64url secrets that differ', () => {
    const a = generateSecret();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generateSecret()).not.toBe(a);
  });

  it('encodes scrypt$N$r$p$salt$hash with the default cost 16384 and a 16-byte salt, 32-byte key', async () => {
    const encoded = await hashSecret('correct horse battery staple');
    const [scheme, N, r, p] = encoded.split('$');
    expect([scheme, N, r, p]).toEqual(['scrypt', '16384', '8', '1']);
    const parsed = parseSecretHash(encoded);
    expect(parsed.salt).toHaveLength(SCRYPT_DEFAULTS.saltBytes);
    expect(parsed.hash).toHaveLength(SCRYPT_DEFAULTS.keyBytes);
    expect(await verifySecret('correct horse battery staple', encoded)).toBe(true);
    expect(await verifySecret('correct horse battery stapl', encoded)).toBe(false);
  });

  it('salts every hash, and honours a lower N for tests', async () => {
    const a = await hashSecret('same-secret-123456', { N: 1024 });
    const b = await hashSecret('same-secret-123456', { N: 1024 });
    expect(a).not.toBe(b);
    expect(a.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifySecret('same-secret-123456', b)).toBe(true);
  });

  it('rejects an N that is not a power of two', async () => {
    await expect(hashSecret('x'.repeat(16), { N: 1000 })).rejects.toThrow(/power of two/);
  });

  it.each([
    ['bcrypt$1$2$3$4$5', /unknown scheme "bcrypt"/],
    ['scrypt$16384$8$1$abc', /expected 6 "\$"-separated fields/],
    ['scrypt$16384$8$1$!!!!$AAAA', /salt must be base64url/],
    ['scrypt$sixteen$8$1$AAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAA', /N must be a decimal integer/],
    ['scrypt$1048576$8$1$AAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAA', /N must be a power of two between 2 and 131072/],
    ['scrypt$16384$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAA', /salt is 3 bytes/],
  ])('explains why %s does not parse', async (encoded, message) => {
    let caught: unknown;
    try {
      await verifySecret('whatever-secret-1', encoded);
    } catch (err) {
      caught = err;
    }
    expect(isRegistryError(caught, 'REGISTRY_ERR_BAD_HASH')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});
