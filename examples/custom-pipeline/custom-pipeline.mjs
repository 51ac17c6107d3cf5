// Assemble a code-generation stack by hand: every piece is built here and passed in explicitly.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { adapterRoutingMiddleware, generateText, retrievalAugmentationMiddleware, wrapLanguageModel } from '@codestack/orchestrator';
import { createLocalLanguageModel } from '@codestack/orchestrator/local';
import { createDocsIndexRetriever } from '@codestack/orchestrator/retrieval';
import { DocsIndex, loadTypeScriptDocs } from '@codestack/retrieval';
import { createRuntime, LlamaModel } from '@codestack/runtime';
import { buildCompactVocabulary } from '@codestack/tokenizer';
import { Adapter, AdapterSet, trainAdapter } from '@codestack/tuning';

const require = createRequire(import.meta.url);

// 1. Runtime: the best backend available (tfjs-node-gpu, tfjs-node, wasm, then cpu).
const runtime = await createRuntime({ backend: 'auto' });
console.log(`runtime: ${runtime.backend} (${runtime.device}); skipped: ${runtime.skipped.map((attempt) => attempt.backend).join(', ') || 'none'}`);

// 2. Tokenizer: a compact lossless vocabulary (512 cl100k tokens + bytes + specials) built from real code.
const corpusFiles = ['chunk', 'sum', 'sumBy', 'debounce', 'throttle', 'memoize', 'groupBy', 'uniq'].map((name) => require.resolve(`lodash/${name}.js`));
const tokenizer = await buildCompactVocabulary({ corpus: { files: corpusFiles }, baseEncoding: 'cl100k_base', baseTokenCount: 512, workers: 1 });
console.log(`tokenizer: ${tokenizer.vocabularySize} ids`);

// 3. Base model: a small Llama-style decoder (random weights here; load a trained one with loadModel).
const model = LlamaModel.create(
  runtime,
  { vocabularySize: tokenizer.vocabularySize, hiddenSize: 64, layers: 3, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 128, maximumContext: 256, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true },
  { seed: 1 },
);

// 4. Adapter: LoRA on the middle layer's attention, trained briefly on lodash sources.
const adapters = new AdapterSet(model);
const lodashStyle = Adapter.create(model, { method: 'lora', r: 8, alpha: 16, targetModules: ['q_proj', 'v_proj'] }, { name: 'lodash-style' });
const sequences = corpusFiles.map((file) => tokenizer.encode(readFileSync(file, 'utf8')));
const training = await trainAdapter({ model, adapter: lodashStyle, data: { sequences }, steps: 20, batchSize: 4, sequenceLength: 64, learningRate: 2e-2, silent: true });
console.log(`adapter: ${(training.trainableShare * 100).toFixed(2)}% of parameters trainable, losses ${training.losses[0].toFixed(3)} -> ${training.losses.at(-1).toFixed(3)}`);
adapters.add('lodash-style', lodashStyle);

// 5. Retriever: the real API docs of an installed package, indexed with hnswlib + BM25.
const index = await DocsIndex.build(await loadTypeScriptDocs('hnswlib-node'));
const retriever = createDocsIndexRetriever(index);

// 6. The model stack: retrieval augmentation, then adapter routing by task tag, around the local model.
const stack = wrapLanguageModel({
  model: createLocalLanguageModel({ model, tokenizer, adapters, defaultMaximumOutputTokens: 24 }),
  middleware: [
    retrievalAugmentationMiddleware({
      retriever,
      tokenizer,
      maximumDocumentTokens: 60,
      onRetrieval: (record) => console.log(`retrieved: ${record.used.map((document) => document.id).join(', ')}`),
    }),
    adapterRoutingMiddleware({ routes: { lodash: 'lodash-style' } }),
  ],
});

const result = await generateText({
  model: stack,
  prompt: [{ role: 'user', content: 'Search an HNSW index for the nearest neighbours of a vector.' }],
  providerOptions: { codestack: { taskTag: 'lodash' } },
  seed: 1,
});
console.log(`generated ${result.usage.outputTokens} tokens (${result.finishReason}); a random base model writes noise: ${JSON.stringify(result.text.slice(0, 60))}`);
assert.ok(result.usage.outputTokens > 0);
assert.equal(adapters.active, undefined);
adapters.dispose();
model.dispose();
