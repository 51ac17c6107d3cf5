// Complete code with the bundled base model, then with its rxjs adapter merged in.
// Run from the repository root after `npm run build`: node packages/model-base/examples/complete.mjs
import { join } from 'node:path';
import { baseModelDirectory, bundledAdapterDirectory } from '@codestack/model-base';
import { createRuntime, generate, loadModel } from '@codestack/runtime';
import { loadCompactVocabulary } from '@codestack/tokenizer';
import { loadAdapter, mergeAdapter, unmergeAdapter } from '@codestack/tuning';

const runtime = await createRuntime(); // tfjs-node-gpu → tfjs-node → wasm → cpu
const model = await loadModel(runtime, baseModelDirectory); // checksums verified
const vocabulary = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));

async function complete(prompt) {
  const [result] = await generate(model, [vocabulary.encode(prompt)], { maximumNewTokens: 32, temperature: 0, tokenizer: vocabulary, stopSequences: ['\n\n'] });
  return result.text;
}

const plain = "const fs = require('fs');\nconst path = require('path');\n\nfunction readJson(file) {\n";
console.log(`backend ${runtime.backend}\n--- base model:\n${plain}${await complete(plain)}`);

const rxjs = "import { Observable } from 'rxjs';\nimport { map, filter } from 'rxjs/operators';\n\nconst source$ = ";
const adapter = await loadAdapter(model, bundledAdapterDirectory('rxjs')); // refused if not made for these weights
mergeAdapter(model, adapter);
console.log(`--- with the rxjs adapter:\n${rxjs}${await complete(rxjs)}`);
unmergeAdapter(model, adapter);
console.log(`--- without it:\n${rxjs}${await complete(rxjs)}`);
adapter.dispose();
model.dispose();
