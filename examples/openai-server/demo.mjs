// Starts the server on a free port, calls it with the openai client, and stops it.
import { callServer } from './call.mjs';
import { startServer } from './serve.mjs';

const { url, close } = await startServer({ port: 0 });
try {
  await callServer(url);
} finally {
  await close();
}
