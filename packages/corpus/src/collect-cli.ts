#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createProgressReporter } from '@codestack/core';
import { collectCorpus } from './collect-corpus.js';
import { corpusPackages, domainPackages, validationPackages } from './corpus-packages.js';

/** `npm run collect -w packages/corpus -- --out DIR [--json]`: collects the pinned corpus. */
const { values } = parseArgs({ options: { out: { type: 'string', default: '.cache/corpus' }, json: { type: 'boolean', default: false } } });
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const manifest = await collectCorpus({
  packages: corpusPackages,
  validationPackages,
  domainPackages,
  resolveFrom: process.cwd(),
  outputDirectory: resolve(values.out!),
  progress: createProgressReporter({ label: 'corpus', total: corpusPackages.length, json: values.json }),
  signal: controller.signal,
});
process.stdout.write(`${JSON.stringify(manifest.splits)}\n`);
