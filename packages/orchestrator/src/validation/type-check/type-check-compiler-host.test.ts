import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfinedCompilerHost } from './type-check-compiler-host.js';
import { typescriptCompiler } from './typescript-compiler.js';

describe('createConfinedCompilerHost', () => {
  const secret = 'SECRET-VALUE-1234';
  let root: string;
  let workspace: string;
  let project: string;
  let outside: string;

  // <root>/outside/{secret.d.ts, .env}
  // <root>/workspace/{package.json (workspaces), .env, config.d.ts}
  // <root>/workspace/packages/app            the project directory, with src/config.ts
  // <root>/workspace/packages/lib/{package.json, index.d.ts, notes.txt}
  // <root>/workspace/node_modules/lib        -> ../packages/lib   (a workspace link)
  // <root>/workspace/node_modules/pkg/{package.json, index.d.ts, readme.md, leak.d.ts -> outside/secret.d.ts}
  // <root>/workspace/node_modules/out        -> <root>/outside     (a link out of the workspace)
  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'codestack-host-')));
    outside = join(root, 'outside');
    workspace = join(root, 'workspace');
    project = join(workspace, 'packages', 'app');
    const modules = join(workspace, 'node_modules');
    mkdirSync(outside, { recursive: true });
    mkdirSync(join(project, 'src'), { recursive: true });
    mkdirSync(join(workspace, 'packages', 'lib'), { recursive: true });
    mkdirSync(join(modules, 'pkg'), { recursive: true });
    writeFileSync(join(outside, 'secret.d.ts'), `export declare const key: '${secret}';\n`);
    writeFileSync(join(outside, '.env'), `KEY=${secret}\n`);
    writeFileSync(join(workspace, 'package.json'), '{ "private": true, "workspaces": ["packages/*"] }\n');
    writeFileSync(join(workspace, '.env'), `KEY=${secret}\n`);
    writeFileSync(join(workspace, 'config.d.ts'), `export declare const key: '${secret}';\n`);
    writeFileSync(join(project, 'src', 'config.ts'), `export const key = '${secret}';\n`);
    writeFileSync(join(workspace, 'packages', 'lib', 'package.json'), '{ "name": "lib", "types": "index.d.ts" }\n');
    writeFileSync(join(workspace, 'packages', 'lib', 'index.d.ts'), 'export declare const lib: 1;\n');
    writeFileSync(join(workspace, 'packages', 'lib', 'notes.txt'), secret);
    writeFileSync(join(modules, 'pkg', 'package.json'), '{ "name": "pkg" }\n');
    writeFileSync(join(modules, 'pkg', 'index.d.ts'), 'export declare const pkg: 2;\n');
    writeFileSync(join(modules, 'pkg', 'readme.md'), secret);
    symlinkSync(join(outside, 'secret.d.ts'), join(modules, 'pkg', 'leak.d.ts'));
    symlinkSync(join(workspace, 'packages', 'lib'), join(modules, 'lib'));
    symlinkSync(outside, join(modules, 'out'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const snippet = (): string => join(project, 'snippet.ts');
  const createHost = () =>
    createConfinedCompilerHost({ compiler: typescriptCompiler(), projectDirectory: project, virtualFiles: new Map([[snippet(), 'export {};\n']]) });

  it('reads declarations and manifests in node_modules, and the in-memory files', () => {
    const host = createHost();
    expect(host.readFile(snippet())).toBe('export {};\n');
    expect(host.fileExists(join(workspace, 'node_modules', 'pkg', 'package.json'))).toBe(true);
    expect(host.readFile(join(workspace, 'node_modules', 'pkg', 'index.d.ts'))).toBe('export declare const pkg: 2;\n');
    expect(host.directoryExists?.(join(workspace, 'node_modules'))).toBe(true);
    // `out` links out of the workspace, so it is not listed either.
    expect(host.getDirectories?.(join(workspace, 'node_modules')).sort()).toEqual(['lib', 'pkg']);
  });

  it('reads TypeScript’s own libraries', () => {
    const host = createHost();
    const library = host.getDefaultLibFileName({});
    expect(host.fileExists(library)).toBe(true);
    expect(host.getSourceFile(library, typescriptCompiler().ScriptTarget.ES2022)?.text).toContain('<reference lib="es5" />');
  });

  it('follows a workspace link into the workspace, then reads the package under its real path', () => {
    const host = createHost();
    const linked = join(workspace, 'node_modules', 'lib', 'index.d.ts');
    const real = join(workspace, 'packages', 'lib', 'index.d.ts');
    expect(host.fileExists(linked)).toBe(true);
    expect(host.realpath?.(linked)).toBe(real);
    expect(host.readFile(real)).toBe('export declare const lib: 1;\n');
    // Only declarations and manifests of the linked package, even through the link.
    expect(host.readFile(join(workspace, 'node_modules', 'lib', 'notes.txt'))).toBeUndefined();
    expect(host.readFile(join(workspace, 'packages', 'lib', 'notes.txt'))).toBeUndefined();
  });

  it('denies files that are not declarations or manifests, even inside node_modules', () => {
    const host = createHost();
    expect(host.readFile(join(workspace, 'node_modules', 'pkg', 'readme.md'))).toBeUndefined();
    expect(host.fileExists(join(workspace, 'node_modules', 'pkg', 'readme.md'))).toBe(false);
  });

  it('denies the project’s own sources and everything outside the allowed roots', () => {
    const host = createHost();
    for (const path of [join(project, 'src', 'config.ts'), join(workspace, 'config.d.ts'), join(workspace, '.env'), join(outside, 'secret.d.ts'), '/etc/passwd']) {
      expect(host.fileExists(path), path).toBe(false);
      expect(host.readFile(path), path).toBeUndefined();
      expect(host.getSourceFile(path, typescriptCompiler().ScriptTarget.ES2022), path).toBeUndefined();
    }
    expect(host.directoryExists?.(outside)).toBe(false);
    expect(host.directoryExists?.(join(project, 'src'))).toBe(false);
    expect(host.getDirectories?.(outside)).toEqual([]);
  });

  it('does not follow a symlink in node_modules that points outside, nor a package linked from outside the workspace', () => {
    const host = createHost();
    for (const path of [join(workspace, 'node_modules', 'pkg', 'leak.d.ts'), join(workspace, 'node_modules', 'out', 'secret.d.ts')]) {
      expect(host.fileExists(path), path).toBe(false);
      expect(host.readFile(path), path).toBeUndefined();
      // The real path of a denied file is not revealed.
      expect(host.realpath?.(path)).toBe(path);
    }
    expect(host.directoryExists?.(join(workspace, 'node_modules', 'out'))).toBe(false);
  });

  it('reads nothing through a `..` path that the kernel resolves through a symlink', () => {
    const host = createHost();
    // Lexically this is node_modules/.env; the kernel goes through the link to packages/lib and reads <workspace>/.env.
    const path = `${join(workspace, 'node_modules', 'lib')}/../../.env`;
    expect(host.fileExists(path)).toBe(false);
    expect(host.readFile(path)).toBeUndefined();
    const declaration = `${join(workspace, 'node_modules', 'lib')}/../../config.d.ts`;
    expect(host.readFile(declaration)).toBeUndefined();
    expect(host.directoryExists?.(`${join(workspace, 'node_modules', 'lib')}/../..`)).toBe(false);
  });

  it('reports no read error for a denied or a missing file, so the two look the same', () => {
    const host = createHost();
    const errors: string[] = [];
    for (const path of [join(outside, 'secret.d.ts'), join(outside, 'missing.d.ts')]) {
      expect(host.getSourceFile(path, typescriptCompiler().ScriptTarget.ES2022, (message) => errors.push(message))).toBeUndefined();
    }
    expect(errors).toEqual([]);
  });

  it('writes nothing', () => {
    const host = createHost();
    host.writeFile(join(project, 'written.d.ts'), 'x', false);
    expect(createHost().fileExists(join(project, 'written.d.ts'))).toBe(false);
    expect(() => realpathSync(join(project, 'written.d.ts'))).toThrow();
  });
});
