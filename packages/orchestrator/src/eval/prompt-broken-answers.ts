/**
 * Broken answers for the diagnostics-driven retrieval of a repair round: each is code a model
 * might write (a misspelt member, a member asked of the wrong module, a call with the wrong
 * arguments) and the `@types/node` entry whose real signature would fix it.
 */
export interface BrokenAnswer {
  /** What is wrong, in words. */
  kind: 'misspelt member' | 'wrong module' | 'wrong arity' | 'wrong argument';
  /** The broken code (TypeScript, checked as it is). */
  code: string;
  /** The `@types/node` entry name the repair needs, such as `fs.readFileSync`. */
  api: string;
  /** Other entry names that document the same API (`path.PlatformPath.join` for `path.join`). */
  alternatives?: string[];
}

export const brokenAnswers: readonly BrokenAnswer[] = [
  { kind: 'misspelt member', api: 'fs.readFileSync', code: "import fs from 'node:fs';\nexport function lineCount(path: string): number {\n  return fs.readFileSyncc(path, 'utf8').split('\\n').length;\n}\n" },
  { kind: 'misspelt member', api: 'crypto.createHash', code: "import crypto from 'node:crypto';\nexport function sha256(text: string): string {\n  return crypto.createHsh('sha256').update(text).digest('hex');\n}\n" },
  { kind: 'misspelt member', api: 'zlib.gunzipSync', code: "import { gunzipSinc } from 'node:zlib';\nexport function decompress(data: Buffer): Buffer {\n  return gunzipSinc(data);\n}\n" },
  { kind: 'misspelt member', api: 'path.join', alternatives: ['path.PlatformPath.join'], code: "import path from 'node:path';\nexport function joinSegments(...parts: string[]): string {\n  return path.joinn(...parts);\n}\n" },
  { kind: 'misspelt member', api: 'os.homedir', code: "import * as os from 'node:os';\nexport function homeDirectory(): string {\n  return os.homeDir();\n}\n" },
  { kind: 'misspelt member', api: 'fs.existsSync', code: "import { existSync } from 'node:fs';\nexport function fileExists(path: string): boolean {\n  return existSync(path);\n}\n" },
  { kind: 'wrong module', api: 'fs.readFileSync', code: "import { readFileSync } from 'node:path';\nexport function readConfig(path: string): string {\n  return readFileSync(path, 'utf8');\n}\n" },
  { kind: 'wrong module', api: 'fs.existsSync', code: "import os from 'node:os';\nexport function fileExists(path: string): boolean {\n  return os.existsSync(path);\n}\n" },
  { kind: 'wrong module', api: 'crypto.randomUUID', code: "import { randomUUID } from 'node:util';\nexport function newId(): string {\n  return randomUUID();\n}\n" },
  { kind: 'wrong module', api: 'os.cpus', code: "import process from 'node:process';\nexport function cpuCount(): number {\n  return process.cpus().length;\n}\n" },
  { kind: 'wrong arity', api: 'fs.writeFileSync', code: "import fs from 'node:fs';\nexport function saveText(path: string, text: string): void {\n  fs.writeFileSync(path);\n}\n" },
  { kind: 'wrong arity', api: 'crypto.randomBytes', code: "import { randomBytes } from 'node:crypto';\nexport function token(size: number): string {\n  return randomBytes().toString('hex');\n}\n" },
  { kind: 'wrong arity', api: 'zlib.gzipSync', code: "import * as zlib from 'node:zlib';\nexport function compress(data: Buffer): Buffer {\n  return zlib.gzipSync(data, {}, 9);\n}\n" },
  { kind: 'wrong arity', api: 'crypto.timingSafeEqual', code: "import crypto from 'node:crypto';\nexport function safeCompare(a: Buffer): boolean {\n  return crypto.timingSafeEqual(a);\n}\n" },
  { kind: 'wrong argument', api: 'fs.mkdirSync', code: "import fs from 'node:fs';\nexport function ensureDirectory(path: string): void {\n  fs.mkdirSync(path, true);\n}\n" },
];
