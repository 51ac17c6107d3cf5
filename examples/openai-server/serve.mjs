// Serves a codestack LanguageModel as an OpenAI-compatible API.
// With CODESTACK_MODEL_DIR set it serves that checkpoint (saved by @codestack/runtime's saveModel);
// otherwise a tiny randomly initialised model (fixed seed): real tokens from the real runtime and
// tokenizer, gibberish text — enough to see the API work end to end.
import { createOpenAIServer } from '@codestack/orchestrator';
import { createLocalLanguageModel } from '@codestack/orchestrator/local';
import { createRuntime, LlamaModel, loadModel } from '@codestack/runtime';
import { getTokenizer } from '@codestack/tokenizer';

export async function startServer({ port = Number(process.env.PORT ?? 8080), apiKey = process.env.CODESTACK_SERVER_API_KEY } = {}) {
  const runtime = await createRuntime();
  const tokenizer = getTokenizer(process.env.CODESTACK_ENCODING ?? 'cl100k_base');
  const model = process.env.CODESTACK_MODEL_DIR
    ? await loadModel(runtime, process.env.CODESTACK_MODEL_DIR)
    : LlamaModel.create(
        runtime,
        { vocabularySize: 100256, hiddenSize: 32, layers: 2, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 64, maximumContext: 512, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true },
        { seed: 1 },
      );
  const server = createOpenAIServer({
    model: createLocalLanguageModel({ model, tokenizer, modelId: 'codestack-local', defaultMaximumOutputTokens: 32 }),
    ...(apiKey ? { apiKey } : {}),
  });
  const { url } = await server.listen(port);
  return { url, close: () => server.close() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url, close } = await startServer();
  console.log(`Serving codestack-local at ${url} (Ctrl+C to stop)`);
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());
}
