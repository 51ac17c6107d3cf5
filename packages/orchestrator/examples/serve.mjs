import { join } from 'node:path';
import OpenAI from 'openai';
import { baseModelDirectory, baseModelId } from '@codestack/model-base';
import { createOpenAIServer } from '@codestack/orchestrator';
import { createLocalLanguageModel } from '@codestack/orchestrator/local';
import { createRuntime, loadModel } from '@codestack/runtime';
import { loadCompactVocabulary } from '@codestack/tokenizer';

// Any LanguageModel can be served; here the bundled base model on the local runtime.
const runtime = await createRuntime();
const tokenizer = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));
const model = createLocalLanguageModel({ model: await loadModel(runtime, baseModelDirectory), tokenizer, modelId: baseModelId });

const server = createOpenAIServer({ model, apiKey: 'secret' });
const { url } = await server.listen(0); // 0: any free port; the CLI's `codestack serve --port 8080` picks one
const client = new OpenAI({ apiKey: 'secret', baseURL: url });
console.log('models:', (await client.models.list()).data.map((entry) => entry.id));

const stream = await client.chat.completions.create({
  model: model.modelId,
  messages: [{ role: 'user', content: 'Write clamp.' }],
  max_tokens: 16,
  temperature: 0,
  stream: true,
});
let text = '';
let chunks = 0;
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content ?? '';
  chunks += 1;
}
console.log(`streamed ${chunks} chunks: ${JSON.stringify(text)}`);
await server.close();
