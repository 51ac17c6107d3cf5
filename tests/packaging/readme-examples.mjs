#!/usr/bin/env node
// README examples are files. In a README, a fenced block right after
//   <!-- example: PATH -->
// must be the literal content of PATH (relative to the README's folder), and a fenced block right
// after
//   <!-- output: PATH -->
// is what running PATH printed (stdout; run from the repository root with node, or tsx for .ts).
//   node readme-examples.mjs            check that every example block equals its file
//   node readme-examples.mjs --write    rewrite example blocks from their files
//   node readme-examples.mjs --write --run [FILTER]   also run the examples (paths containing
//                                       FILTER) and paste their real output into the output blocks
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readmeFiles() {
  const files = [join(root, 'README.md')];
  for (const folder of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, folder)).sort()) {
      const readme = join(root, folder, name, 'README.md');
      if (existsSync(readme)) files.push(readme);
    }
  }
  return files;
}

const markerPattern = /^<!-- (example|output): (\S+) -->\n(```[^\n]*)\n([\s\S]*?)^```$/gm;

/** Every marked block of one README: { kind, path (absolute), relativePath, body, start, end }. */
export function markedBlocks(readme) {
  const text = readFileSync(readme, 'utf8');
  const blocks = [];
  for (const match of text.matchAll(markerPattern)) {
    const [whole, kind, path, fence, body] = match;
    const bodyStart = match.index + whole.indexOf(fence) + fence.length + 1;
    blocks.push({ readme, kind, relativePath: path, path: join(dirname(readme), path), fence, body, bodyStart, bodyEnd: bodyStart + body.length });
  }
  return blocks;
}

/** Runs one example file from the repository root; returns { status, stdout, stderr }. */
export function runExample(path) {
  const command = path.endsWith('.ts') ? [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path] : [path];
  const result = spawnSync(process.execPath, command, { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, timeout: 240_000 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/**
 * Output compared up to numbers and hex digests (timings, losses and checksums vary by machine),
 * and up to the instruction set the native matrix products name (it varies by CPU).
 */
export function outputShape(text) {
  return text
    .replace(/matrix products native \([^)]*\)/g, 'matrix products native (INSTRUCTIONS)')
    .replace(/\b[0-9a-f]{8,}\b/g, 'HEX')
    .replace(/-?\d+(\.\d+)?(e-?\d+)?/g, 'N')
    .trimEnd();
}

function replaceBodies(readme, replacements) {
  let text = readFileSync(readme, 'utf8');
  for (const { block, body } of replacements.sort((a, b) => b.block.bodyStart - a.block.bodyStart)) {
    text = text.slice(0, block.bodyStart) + body + text.slice(block.bodyEnd);
  }
  writeFileSync(readme, text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const write = process.argv.includes('--write');
  const runIndex = process.argv.indexOf('--run');
  const filter = runIndex >= 0 ? (process.argv[runIndex + 1] ?? '') : undefined;
  let problems = 0;
  for (const readme of readmeFiles()) {
    const blocks = markedBlocks(readme);
    const replacements = [];
    for (const block of blocks) {
      const where = `${relative(root, readme)} → ${block.relativePath}`;
      if (!existsSync(block.path)) {
        console.error(`${where}: no such file`);
        problems += 1;
        continue;
      }
      if (block.kind === 'example') {
        const content = readFileSync(block.path, 'utf8').replace(/\n*$/, '\n');
        if (content !== block.body) {
          if (write) replacements.push({ block, body: content });
          else {
            console.error(`${where}: the README block differs from the file`);
            problems += 1;
          }
        }
      } else if (write && filter !== undefined && relative(root, block.path).includes(filter)) {
        const result = runExample(block.path);
        if (result.status !== 0) {
          console.error(`${where}: exited ${result.status}\n${result.stderr}`);
          problems += 1;
          continue;
        }
        console.log(`${where}: ran`);
        replacements.push({ block, body: result.stdout.replace(/\n*$/, '\n') });
      }
    }
    if (replacements.length > 0) replaceBodies(readme, replacements);
  }
  process.exitCode = problems > 0 ? 1 : 0;
}
