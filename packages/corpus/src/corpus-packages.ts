import { createRequire } from 'node:module';

const packageJson = createRequire(import.meta.url)('../package.json') as { devDependencies: Record<string, string> };

/** The pinned corpus packages: exactly this workspace's devDependencies, so `npm ci` installs them. */
export const corpusPackages: readonly string[] = Object.keys(packageJson.devDependencies).sort();

/** Packages whose files are the validation split (held out by package). */
export const validationPackages: readonly string[] = ['semver', 'ws', 'underscore'];

/** A package the base model never sees, for the demonstration domain adapter. */
export const domainPackages: readonly string[] = ['rxjs'];
