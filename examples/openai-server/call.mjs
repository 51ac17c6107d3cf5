// Calls a running codestack server with the official openai client: list, complete, stream.
import OpenAI from 'openai';

export async function callServer(baseURL = process.env.CODESTACK_BASE_URL ?? 'http://127.0.0.1:8080/v1', apiKey = process.env.CODESTACK_SERVER_API_KEY ?? 'unused') {
  const client = new OpenAI({ baseURL, apiKey });
  const models = await client.models.list();
  console.log('models:', models.data.map((model) => model.id).join(', '));
  const completion = await client.chat.completions.create({
    model: 'codestack-local',
    messages: [{ role: 'user', content: 'Write a function that clamps a number.' }],
    max_tokens: 12,
    seed: 42,
    temperature: 0.8,
  });
  console.log('chat:', JSON.stringify(completion.choices[0]?.message.content), completion.usage);
  const stream = await client.chat.completions.create({
    model: 'codestack-local',
    messages: [{ role: 'user', content: 'Write a function that clamps a number.' }],
    max_tokens: 12,
    seed: 42,
    temperature: 0.8,
    stream: true,
  });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
  console.log('stream matches:', streamed === completion.choices[0]?.message.content);
}

if (import.meta.url === `file://${process.argv[1]}`) await callServer();
