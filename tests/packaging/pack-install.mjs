#!/usr/bin/env node
// Packs every public package (`npm pack`), installs the tarballs into a fresh app outside the
// workspace (third-party dependencies come from the registry), then
//   1. compiles a strict TypeScript ESM program that uses every package (skipLibCheck: false,
//      module nodenext) with tsc and runs it with node, and
//   2. require()s each package from CommonJS, and
//   3. runs the installed `codestack --help` (of @codestack/cli), and
//   4. installs only core, tokenizer and the orchestrator into a second app: none of the optional
//      peers (runtime, tuning, retrieval, model-base) nor tfjs or hnswlib may be installed, and
//      validation runs there.
// It fails on any EBADENGINE warning of the install. Run after `npm run build` (turbo's test task
// builds first). `--keep` leaves the temp dir for inspection.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const keep = process.argv.includes('--keep');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

export const publicPackages = readdirSync(join(root, 'packages'))
  .map((name) => ({ directory: join(root, 'packages', name), manifest: JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

function run(command, args, cwd) {
  const started = Date.now();
  try {
    const output = execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
    return { output, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    process.stderr.write(`\n$ ${command} ${args.join(' ')}   (in ${cwd})\n${error.stdout ?? ''}${error.stderr ?? ''}\n`);
    throw new Error(`${command} ${args.join(' ')} failed with status ${error.status}`);
  }
}

const work = mkdtempSync(join(tmpdir(), 'codestack-packed-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
mkdirSync(tarballs);
mkdirSync(app);
let failed = false;
try {
  for (const { directory } of publicPackages) run(npm, ['pack', '--silent', '--pack-destination', tarballs], directory);
  const files = readdirSync(tarballs).filter((file) => file.endsWith('.tgz'));
  console.log(`packed ${files.length} packages: ${files.join(', ')}`);

  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'packed-consumer', private: true, version: '0.0.0', allowScripts: { 'hnswlib-node': true, '@codestack/native-kernels': true } }, null, 2));
  cpSync(join(here, 'consumer'), app, { recursive: true });
  const install = run(
    npm,
    ['install', '--no-audit', '--no-fund', '--loglevel=warn', ...files.map((file) => `../tarballs/${file}`),
      `typescript@${rootPackage.devDependencies.typescript}`, `@types/node@${rootPackage.devDependencies['@types/node']}`],
    app,
  );
  console.log(`installed the tarballs into a fresh app in ${install.seconds.toFixed(1)} s`);
  const engineWarnings = install.output.split('\n').filter((line) => line.includes('EBADENGINE'));
  if (engineWarnings.length > 0) throw new Error(`the install warned EBADENGINE:\n${engineWarnings.join('\n')}`);

  run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);
  console.log('tsc (strict, skipLibCheck: false, module nodenext): no errors');
  process.stdout.write(run(process.execPath, [join(app, 'dist', 'main.mjs')], app).output);
  process.stdout.write(run(process.execPath, [join(app, 'require.cjs')], app).output);
  const help = run(join(app, 'node_modules', '.bin', 'codestack'), ['--help'], app).output;
  if (!help.startsWith('Usage: codestack')) throw new Error(`codestack --help printed:\n${help}`);
  console.log('the installed codestack bin: ok');

  const light = join(work, 'light');
  mkdirSync(light);
  writeFileSync(join(light, 'package.json'), JSON.stringify({ name: 'light-consumer', private: true, version: '0.0.0', type: 'module' }, null, 2));
  const lightTarballs = files.filter((file) => /^codestack-(core|tokenizer|orchestrator)-\d/.test(file));
  if (lightTarballs.length !== 3) throw new Error(`expected the core, tokenizer and orchestrator tarballs, found ${lightTarballs.join(', ')}`);
  run(npm, ['install', '--no-audit', '--no-fund', '--loglevel=warn', ...lightTarballs.map((file) => `../tarballs/${file}`)], light);
  const heavy = ['@codestack/runtime', '@codestack/native-kernels', '@codestack/tuning', '@codestack/retrieval', '@codestack/model-base', '@tensorflow/tfjs-core', 'hnswlib-node'];
  const installed = heavy.filter((name) => existsSync(join(light, 'node_modules', name)));
  if (installed.length > 0) throw new Error(`an app of core, tokenizer and orchestrator installed ${installed.join(', ')}`);
  writeFileSync(
    join(light, 'validate.mjs'),
    "import { validateCode } from '@codestack/orchestrator';\nconst report = await validateCode({ code: 'export const answer: number = 42;\\n' });\nif (!report.ok) throw new Error(JSON.stringify(report));\n",
  );
  run(process.execPath, [join(light, 'validate.mjs')], light);
  console.log(`a light app (core, tokenizer, orchestrator): validation runs, and none of ${heavy.join(', ')} is installed`);
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.message : error);
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
