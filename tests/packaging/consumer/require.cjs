// CommonJS consumers: require() of each package (Node 20.19+ loads the ESM build via require(esm)).
const assert = require('node:assert');
const expected = {
  '@codestack/core': 'CodestackError',
  '@codestack/tokenizer': 'getTokenizer',
  '@codestack/native-kernels': 'loadNativeKernels',
  '@codestack/runtime': 'createRuntime',
  '@codestack/tuning': 'Adapter',
  '@codestack/retrieval': 'DocsIndex',
  '@codestack/orchestrator': 'extractCode',
  '@codestack/model-base': 'baseModelDirectory',
  '@codestack/cli': 'runCli',
};
for (const [name, exportName] of Object.entries(expected)) {
  const loaded = require(name);
  assert.ok(loaded[exportName] !== undefined, `${name} has no ${exportName}`);
}
assert.strictEqual(require('@codestack/tokenizer').getTokenizer('gpt-4o').countTokens('hello world'), 2);
console.log(`CommonJS require: ok (${Object.keys(expected).length} packages)`);
