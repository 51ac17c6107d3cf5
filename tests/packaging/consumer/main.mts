// A strict TypeScript ESM program against the packed tarballs of every public package
// (compiled with skipLibCheck: false, module nodenext, then run with node).
import { strictEqual, ok } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CodestackError, InvalidArgumentError, sha256Hex, type Tokenizer } from '@codestack/core';
import { getTokenizer } from '@codestack/tokenizer';
import { LlamaModel, createRuntime, type ModelConfig } from '@codestack/runtime';
import { loadNativeKernels, type NativeKernelsLoad } from '@codestack/native-kernels';
import { Adapter } from '@codestack/tuning';
import { DocsIndex, type DocEntry } from '@codestack/retrieval';
import { extractCode, generateCode } from '@codestack/orchestrator';
import { createLocalLanguageModel } from '@codestack/orchestrator/local';
import { createDocsIndexRetriever } from '@codestack/orchestrator/retrieval';
import { passAtK } from '@codestack/orchestrator/evaluation';
import { cliUsage, type CliContext } from '@codestack/cli';
import { baseModelDirectory, bundledAdapterNames } from '@codestack/model-base';

const error: unknown = new InvalidArgumentError({ argument: 'x', message: 'bad x' });
ok(CodestackError.isInstance(error));
strictEqual(sha256Hex('abc').length, 64);

// Built from C by node-gyp when the tarball was installed; on x86-64 with AVX2 and FMA it loads.
const native: NativeKernelsLoad = loadNativeKernels();
if (native.available) {
  const product = new Float32Array([1, 2, 3, 4, 0]);
  native.kernels.multiplyMatrices(product, { rows: 1, columns: 1, depth: 2, a: 0, aRowStride: 2, aDepthStride: 1, b: 2, bDepthStride: 1, bColumnStride: 1, c: 4, cRowStride: 1 });
  strictEqual(product[4], 11);
}
console.log(`native kernels: ${native.available ? 'built at install and loaded' : native.reason}`);

const tokenizer: Tokenizer = getTokenizer('gpt-4o');
strictEqual(tokenizer.countTokens('hello world'), 2);

const runtime = await createRuntime({ backend: 'cpu' });
const config: ModelConfig = {
  vocabularySize: 64, hiddenSize: 16, layers: 1, attentionHeads: 2, keyValueHeads: 1,
  feedForwardSize: 32, maximumContext: 16, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true,
};
const model = LlamaModel.create(runtime, config, { seed: 1 });
const adapter = Adapter.create(model, { method: 'lora', r: 2, alpha: 4, targetModules: 'all-linear' });
ok(adapter.parameterCount() > 0);
ok(typeof createLocalLanguageModel === 'function');
ok(typeof createDocsIndexRetriever === 'function' && typeof generateCode === 'function');
const cliContext: CliContext = { stdout: process.stdout, stderr: process.stderr, environment: {} };
ok(cliUsage.startsWith('Usage: codestack') && cliContext.environment !== undefined);

const entries: DocEntry[] = [];
ok(typeof DocsIndex.build === 'function' && entries.length === 0);

strictEqual(extractCode('```ts\nconst a = 1;\n```').code.trim(), 'const a = 1;');
strictEqual(passAtK(2, 1, 1), 0.5);
ok(existsSync(join(baseModelDirectory, 'config.json')));
ok(bundledAdapterNames.includes('rxjs'));
console.log('typed ESM program: ok');
