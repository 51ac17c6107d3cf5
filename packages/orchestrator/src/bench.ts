/**
 * `npm run bench -w packages/orchestrator`: the orchestrator's own overhead per request, with
 * the model's time excluded by an instant model (it answers a fixed fenced block at once), and
 * the sandbox's start-up time; and the prompt itself: the relevance threshold chosen on the
 * validation tasks (`sweepRelevanceThreshold`) with its held-out test figure, and `evaluatePrompt`
 * (documents' precision, recall and tokens before and after the relevance gate and compact
 * documents, and whether broken answers' real signatures reach the repair prompt). Prints one JSON
 * object, then a one-line summary.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LanguageModel, LanguageModelStreamPart, RetrievedDocument, Retriever } from '@codestack/core';
import { DocsIndex, loadTypeScriptDocs } from '@codestack/retrieval';
import { getTokenizer } from '@codestack/tokenizer';
import { evaluatePrompt } from './eval/prompt-evaluation.js';
import { heldOutBrokenAnswers } from './eval/prompt-broken-answers.js';
import { sweepRelevanceThreshold } from './eval/relevance-threshold-sweep.js';
import { createDocsIndexRetriever } from './retrieval/docs-index-retriever.js';
import { cacheMiddleware, createMemoryCacheStore } from './middleware/cache-middleware.js';
import { defaultSettingsMiddleware } from './middleware/default-settings-middleware.js';
import { generateCode } from './generate-code/generate-code.js';
import { generateText } from './models/generate-text.js';
import { OpenAICompatibleModel } from './models/openai-compatible-model.js';
import { createOpenAIServer } from './server/openai-server.js';
import { probeSandboxIsolation, runInSandbox } from './validation/sandbox/sandbox.js';
import { traceMiddleware } from './middleware/trace-middleware.js';
import { typeCheck } from './validation/type-check/type-check.js';
import { wrapLanguageModel } from './models/wrap-language-model.js';

const answer = '```ts\nexport function clamp(value: number, low: number, high: number): number {\n  return Math.min(high, Math.max(low, value));\n}\n```';
const instantModel: LanguageModel = {
  specificationVersion: 'codestack-v1',
  provider: 'bench',
  modelId: 'instant',
  async doGenerate() {
    return { text: answer, finishReason: 'stop', usage: { inputTokens: 50, outputTokens: 30 } };
  },
  async doStream() {
    return {
      stream: new ReadableStream<LanguageModelStreamPart>({
        start(controller) {
          for (const delta of answer.match(/[\s\S]{1,4}/g) ?? []) controller.enqueue({ type: 'text-delta', delta });
          controller.enqueue({ type: 'finish', finishReason: 'stop', usage: { inputTokens: 50, outputTokens: 30 } });
          controller.close();
        },
      }),
    };
  },
};
const documents: RetrievedDocument[] = Array.from({ length: 8 }, (_, index) => ({
  id: `doc-${index}`,
  score: 8 - index,
  text: `/** Document ${index}: clamp, min and max helpers. */\nexport declare function helper${index}(value: number): number;\n`.repeat(6),
}));
const retriever: Retriever = { retrieve: async (_query, { topK }) => documents.slice(0, topK) };
const tokenizer = getTokenizer('cl100k_base');

async function timeEach(iterations: number, body: () => Promise<unknown>): Promise<{ mean: number; p50: number; p95: number }> {
  for (let warm = 0; warm < Math.min(5, iterations); warm += 1) await body();
  const samples: number[] = [];
  for (let index = 0; index < iterations; index += 1) {
    const started = performance.now();
    await body();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const round = (value: number): number => Number(value.toFixed(3));
  return {
    mean: round(samples.reduce((sum, value) => sum + value, 0) / samples.length),
    p50: round(samples[Math.floor(samples.length * 0.5)]!),
    p95: round(samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.95))]!),
  };
}

const pipeline = await timeEach(200, async () => {
  const run = generateCode({ task: 'Write clamp(value, low, high).', model: instantModel, tokenizer, retriever, context: 'const limit = 10;\n', contextTokens: 4096, maxOutputTokens: 512 });
  for await (const _event of run.events) {
    // Drain the events as a client would.
  }
  await run.result;
});

const wrapped = wrapLanguageModel({
  model: instantModel,
  middleware: [defaultSettingsMiddleware({ settings: { temperature: 0 } }), traceMiddleware({}), cacheMiddleware({ store: createMemoryCacheStore() })],
});
let counter = 0;
const middleware = await timeEach(500, () => generateText({ model: wrapped, prompt: `miss ${counter++}` }));
const bare = await timeEach(500, () => generateText({ model: instantModel, prompt: 'x' }));

const server = createOpenAIServer({ model: instantModel });
const { url } = await server.listen(0);
const remote = new OpenAICompatibleModel({ baseURL: url, modelId: 'instant' });
const httpRoundTrip = await timeEach(200, () => generateText({ model: remote, prompt: [{ role: 'user', content: 'hi' }] }));
await server.close();

const projectDirectory = fileURLToPath(new URL('..', import.meta.url));
const sandboxStartup = await timeEach(20, () => runInSandbox({ code: '', projectDirectory, isolation: 'guard' }));
const isolationSupport = await probeSandboxIsolation();
const sandboxNamespaceStartup = isolationSupport.namespace ? await timeEach(20, () => runInSandbox({ code: '', projectDirectory, isolation: 'namespace' })) : undefined;
const plainNode = await timeEach(20, async () => spawnSync(process.execPath, ['-e', '']));
const typeCheckWarm = await timeEach(20, async () => typeCheck({ code: 'export const n: number = [1, 2].length;', projectDirectory }));

const docsRetriever = createDocsIndexRetriever(await DocsIndex.build(await loadTypeScriptDocs('@types/node', { from: projectDirectory })));
const thresholdSweep = await sweepRelevanceThreshold({ retriever: docsRetriever });
const chosenOnValidation = thresholdSweep.validation.find((score) => score.threshold === thresholdSweep.chosen)!;
const promptReport = await evaluatePrompt({ retriever: docsRetriever, tokenizer, projectDirectory });
const { outcomes: _outcomes, ...repairSummary } = promptReport.repair;
const heldOutRepair = (await evaluatePrompt({ retriever: docsRetriever, tokenizer, projectDirectory, tasks: [], brokenAnswers: heldOutBrokenAnswers })).repair;

const result = {
  orchestratorOverheadMilliseconds: {
    generatePipeline: pipeline,
    middlewareStack: { ...middleware, bareCall: bare },
    serverHttpRoundTrip: httpRoundTrip,
  },
  sandboxStartupMilliseconds: sandboxStartup,
  sandboxNamespaceStartupMilliseconds: sandboxNamespaceStartup ?? null,
  sandboxNamespaceLauncher: isolationSupport.launcher ?? null,
  plainNodeStartupMilliseconds: plainNode,
  typeCheckWarmMilliseconds: typeCheckWarm,
  relevanceThreshold: {
    rule: thresholdSweep.rule,
    validation: Object.fromEntries(thresholdSweep.validation.map((score) => [score.threshold.toFixed(3), score.right])),
    plateau: thresholdSweep.plateau,
    chosen: thresholdSweep.chosen,
    default: thresholdSweep.defaultThreshold,
    validationRight: chosenOnValidation.right,
    test: thresholdSweep.test,
  },
  prompt: { tasks: promptReport.tasks, minimumRelevance: promptReport.minimumRelevance, before: promptReport.before, after: promptReport.after, repair: repairSummary, repairHeldOut: { answers: heldOutRepair.answers, reachedMarked: heldOutRepair.reachedMarked, reachedFromText: heldOutRepair.reachedFromText, missed: heldOutRepair.outcomes.filter((outcome) => !outcome.reachedMarked).map((outcome) => outcome.api) } },
  node: process.version,
  cpus: (await import('node:os')).cpus().length,
  datastore: await (await import('./datastore/datastore.bench.js')).benchDatastore(),
};
console.log(JSON.stringify(result));
console.log(
  `pipeline overhead ${pipeline.mean.toFixed(2)} ms/request (target ≤ 5), middleware ${middleware.mean.toFixed(3)} ms, HTTP round trip ${httpRoundTrip.mean.toFixed(2)} ms, sandbox start ${sandboxStartup.p50.toFixed(1)} ms p50 guard, ${sandboxNamespaceStartup ? `${sandboxNamespaceStartup.p50.toFixed(1)} ms namespace (${isolationSupport.launcher})` : `namespace unavailable (${isolationSupport.reason})`} (plain node ${plainNode.p50.toFixed(1)} ms), warm type check ${typeCheckWarm.p50.toFixed(1)} ms, relevance threshold ${thresholdSweep.chosen} chosen on validation (${chosenOnValidation.right}/${chosenOnValidation.tasks} right; default ${thresholdSweep.defaultThreshold}${thresholdSweep.chosen === thresholdSweep.defaultThreshold ? '' : ' OUT OF DATE'}), test ${thresholdSweep.test.right}/${thresholdSweep.test.tasks}, prompt docs precision ${promptReport.before.precision.toFixed(2)} → ${promptReport.after.precision.toFixed(2)} recall ${promptReport.before.recall.toFixed(2)} → ${promptReport.after.recall.toFixed(2)} doc tokens ${promptReport.before.meanDocumentTokens.toFixed(0)} → ${promptReport.after.meanDocumentTokens.toFixed(0)}/task, repair signature reached ${promptReport.repair.reachedMarked}/${promptReport.repair.answers} (held-out ${heldOutRepair.reachedMarked}/${heldOutRepair.answers})`,
);
