/** SPDX identifiers the corpus accepts: MIT, ISC, BSD and Apache-2.0 families. */
export const permissiveLicenses: ReadonlySet<string> = new Set([
  'MIT',
  'MIT-0',
  'ISC',
  '0BSD',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'Apache-2.0',
]);

/**
 * Reads the license of a package.json object: the SPDX `license` string, or the legacy
 * `license: { type }` and `licenses: [{ type }]` forms. Returns undefined when none is stated.
 */
export function readLicense(packageJson: Record<string, unknown>): string | undefined {
  const { license, licenses } = packageJson;
  if (typeof license === 'string') return license.trim();
  if (license && typeof license === 'object' && typeof (license as { type?: unknown }).type === 'string') {
    return (license as { type: string }).type.trim();
  }
  if (Array.isArray(licenses)) {
    const types = licenses
      .map((entry) => (entry && typeof entry === 'object' ? (entry as { type?: unknown }).type : undefined))
      .filter((type): type is string => typeof type === 'string');
    if (types.length > 0) return types.length === 1 ? types[0] : `(${types.join(' OR ')})`;
  }
  return undefined;
}

/**
 * Whether an SPDX expression allows permissive use: a single permissive identifier, an `OR` of
 * which at least one is permissive, or an `AND` of which all are. Anything else (GPL, custom
 * `SEE LICENSE IN`, missing) is refused.
 */
export function isPermissiveLicense(expression: string | undefined): boolean {
  if (!expression) return false;
  const stripped = expression.replace(/[()]/g, ' ').trim();
  if (/\bAND\b/.test(stripped)) return stripped.split(/\bAND\b/).every((part) => isPermissiveLicense(part));
  return stripped
    .split(/\bOR\b/)
    .map((part) => part.trim())
    .some((identifier) => permissiveLicenses.has(identifier));
}
