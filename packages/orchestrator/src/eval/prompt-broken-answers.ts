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

/**
 * Broken answers written after the lookup's name-aware pick (`pickNamedDocument`) was settled on
 * {@link brokenAnswers}, and not used to develop it: a held-out check of the repair lookup.
 */
export const heldOutBrokenAnswers: readonly BrokenAnswer[] = [
  { kind: 'wrong module', api: 'crypto.getRandomValues', code: "import { getRandomValues } from 'node:util';\nexport function noise(): Uint8Array {\n  return getRandomValues(new Uint8Array(8));\n}\n" },
  { kind: 'wrong module', api: 'util.promisify', code: "import { promisify } from 'node:fs';\nexport const sleep = promisify(setTimeout);\n" },
  { kind: 'wrong module', api: 'crypto.randomBytes', code: "import { randomBytes } from 'node:os';\nexport function salt(): Buffer {\n  return randomBytes(8);\n}\n" },
  { kind: 'wrong module', api: 'zlib.gzipSync', code: "import { gzipSync } from 'node:fs';\nexport function pack(text: string): Buffer {\n  return gzipSync(Buffer.from(text));\n}\n" },
  { kind: 'wrong module', api: 'crypto.createHash', code: "import { createHash } from 'node:util';\nexport function sha1(text: string): string {\n  return createHash('sha1').update(text).digest('hex');\n}\n" },
  { kind: 'wrong module', api: 'os.homedir', code: "import { homedir } from 'node:path';\nexport function home(): string {\n  return homedir();\n}\n" },
  { kind: 'wrong module', api: 'path.basename', alternatives: ['path.PlatformPath.basename'], code: "import { basename } from 'node:fs';\nexport function fileName(path: string): string {\n  return basename(path);\n}\n" },
  { kind: 'misspelt member', api: 'os.cpus', code: "import os from 'node:os';\nexport function cores(): number {\n  return os.cpuss().length;\n}\n" },
  { kind: 'misspelt member', api: 'crypto.randomInt', code: "import crypto from 'node:crypto';\nexport function dice(): number {\n  return crypto.randInt(1, 7);\n}\n" },
  { kind: 'misspelt member', api: 'fs.readdirSync', code: "import * as fs from 'node:fs';\nexport function entries(path: string): string[] {\n  return fs.readDirSync(path);\n}\n" },
  { kind: 'wrong arity', api: 'crypto.createHmac', code: "import { createHmac } from 'node:crypto';\nexport function sign(text: string): string {\n  return createHmac('sha256').update(text).digest('hex');\n}\n" },
  { kind: 'wrong arity', api: 'fs.renameSync', code: "import fs from 'node:fs';\nexport function move(from: string): void {\n  fs.renameSync(from);\n}\n" },
];
