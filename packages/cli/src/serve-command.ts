import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, write } from './arguments.js';
import { modelOptions, resolveModel } from './resolve-model.js';

/** `codestack serve`. */
export async function serveCommand(args: readonly string[], context: CliContext): Promise<number> {
  const { values } = parse(args, { ...modelOptions, port: { type: 'string' }, host: { type: 'string' }, 'server-api-key': { type: 'string' } });
  const port = positiveInteger(values.port, '--port', 8080);
  const { model } = await resolveModel(values, context);
  const { createOpenAIServer } = await import('@codestack/orchestrator');
  const apiKey = values['server-api-key'] ?? (context.environment ?? {}).CODESTACK_SERVER_API_KEY;
  const server = createOpenAIServer({ model, ...(apiKey ? { apiKey } : {}) });
  const { url } = await server.listen(port, values.host ?? '127.0.0.1');
  write(context, values.json, { event: 'listening', url, model: model.modelId }, `Serving ${model.modelId} at ${url}`);
  await new Promise<void>((resolvePromise) => {
    if (context.signal?.aborted) resolvePromise();
    context.signal?.addEventListener('abort', () => resolvePromise(), { once: true });
  });
  await server.close();
  return 0;
}
