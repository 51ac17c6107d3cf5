const assert = require('node:assert');
assert.strictEqual(wordCount('the cat sat'), 3);
assert.strictEqual(wordCount('  spaced   out  '), 2);
assert.strictEqual(wordCount(''), 0);
