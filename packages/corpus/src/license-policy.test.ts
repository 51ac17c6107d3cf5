import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isPermissiveLicense, readLicense } from './license-policy.js';

const require = createRequire(import.meta.url);

describe('license policy', () => {
  it('reads the SPDX license of real installed packages', () => {
    const lodash = JSON.parse(readFileSync(require.resolve('lodash/package.json'), 'utf8'));
    const rxjs = JSON.parse(readFileSync(require.resolve('rxjs/package.json'), 'utf8'));
    expect(readLicense(lodash)).toBe('MIT');
    expect(readLicense(rxjs)).toBe('Apache-2.0');
    expect(isPermissiveLicense(readLicense(lodash))).toBe(true);
  });

  it('reads the legacy object and array forms', () => {
    expect(readLicense({ license: { type: 'ISC' } })).toBe('ISC');
    expect(readLicense({ licenses: [{ type: 'MIT' }, { type: 'GPL-2.0' }] })).toBe('(MIT OR GPL-2.0)');
    expect(readLicense({})).toBeUndefined();
  });

  it('accepts only permissive expressions', () => {
    expect(isPermissiveLicense('BSD-3-Clause')).toBe(true);
    expect(isPermissiveLicense('(MIT OR GPL-3.0)')).toBe(true);
    expect(isPermissiveLicense('MIT AND Apache-2.0')).toBe(true);
    expect(isPermissiveLicense('MIT AND GPL-3.0')).toBe(false);
    expect(isPermissiveLicense('GPL-3.0-only')).toBe(false);
    expect(isPermissiveLicense('SEE LICENSE IN LICENSE.md')).toBe(false);
    expect(isPermissiveLicense(undefined)).toBe(false);
  });
});
