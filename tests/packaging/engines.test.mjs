// No install warning may contradict our own engines field: every package in the lock file must
// accept our floor (the root's engines.node, e.g. >=20.19 → 20.19.0) and the Node running the
// tests, or `npm ci` prints EBADENGINE.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';
import { root } from './readme-examples.mjs';

const semver = createRequire(import.meta.url)('semver');
const rootManifest = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const lock = JSON.parse(readFileSync(`${root}/package-lock.json`, 'utf8'));
const floor = semver.minVersion(rootManifest.engines.node).version;

test(`every locked package accepts Node ${floor} (our floor) and ${process.version}`, () => {
  const refusing = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = entry.engines?.node;
    if (typeof range !== 'string' || entry.optional) continue;
    for (const version of [floor, process.version]) {
      if (!semver.satisfies(version, range)) refusing.push(`${path || '(root)'}@${entry.version ?? ''} requires node ${range}, not ${version}`);
    }
  }
  expect(refusing).toEqual([]);
});
