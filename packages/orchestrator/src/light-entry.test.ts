// The main entry stays light: an app that uses only remote models, middleware and validation
// loads no tensor runtime, no hnswlib native addon and no bundled model. Checked in a fresh node
// process against the built dist (as an installed app would load it), with a module resolve hook
// that records every URL resolved, plus the CommonJS require cache.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const distDirectory = fileURLToPath(new URL('../dist/', import.meta.url));
const heavyModule = /@tensorflow|hnswlib-node|model-base|packages\/(runtime|tuning|retrieval)\/|@codestack\/(runtime|tuning|retrieval)\//;

const resolveHooks = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}`;

/** Runs `body` (ESM, with `entry` bound to the imported dist module) in a fresh node; returns every module it loaded. */
function loadedModules(entryFile: string, body: string): string[] {
  expect(existsSync(join(distDirectory, entryFile)), `dist/${entryFile} is missing: build the orchestrator first (npm run build)`).toBe(true);
  const directory = mkdtempSync(join(tmpdir(), 'codestack-light-entry-'));
  const log = join(directory, 'modules.log');
  try {
    const program = `
import { register, createRequire } from 'node:module';
import { appendFileSync, writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(log)}, '');
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolveHooks)}), { data: { log: ${JSON.stringify(log)} } });
const entry = await import(${JSON.stringify(new URL(entryFile, `file://${distDirectory}`).href)});
${body}
appendFileSync(${JSON.stringify(log)}, Object.keys(createRequire(process.cwd() + '/').cache).join('\\n') + '\\n');
`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8', timeout: 60000 });
    expect(child.status, child.stderr).toBe(0);
    return readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

describe('the main entry of @codestack/orchestrator', { timeout: 90000 }, () => {
  it('loads neither tfjs nor hnswlib nor the bundled model for validation, a remote model and middleware', () => {
    const modules = loadedModules(
      'index.js',
      `
const { validateCode, OpenAICompatibleModel, wrapLanguageModel, defaultSettingsMiddleware, cacheMiddleware, createMemoryCacheStore, extractCode } = entry;
const model = wrapLanguageModel({
  model: new OpenAICompatibleModel({ baseURL: 'http://127.0.0.1:9/v1', modelId: 'remote' }),
  middleware: [defaultSettingsMiddleware({ settings: { temperature: 0 } }), cacheMiddleware({ store: createMemoryCacheStore() })],
});
if (model.modelId !== 'remote') throw new Error('the wrapped model lost its id');
const report = await validateCode({ code: extractCode('\`\`\`ts\\nexport const answer: number = 42;\\n\`\`\`').code });
if (!report.ok) throw new Error(JSON.stringify(report));
`,
    );
    expect(modules.some((url) => url.includes('/orchestrator/dist/index.js'))).toBe(true);
    expect(modules.filter((url) => heavyModule.test(url))).toEqual([]);
  });

  it('while @codestack/orchestrator/local does load the runtime (the check sees tfjs when it is there)', () => {
    const modules = loadedModules('local.js', `if (typeof entry.createLocalLanguageModel !== 'function') throw new Error('no createLocalLanguageModel');`);
    expect(modules.some((url) => url.includes('@tensorflow'))).toBe(true);
  });
});
