/** The OpenAI-compatible HTTP server and its request validation. */
export { createOpenAIServer, type OpenAIServer, type OpenAIServerAdapter, type OpenAIServerOptions } from './openai-server.js';
export { OpenAIRequestError, maximumStopSequences, maximumStopSequenceLength } from './openai-server-request.js';
