const assert = require('node:assert');
const counts = wordFrequencies('The cat and the hat. THE end.');
assert.strictEqual(counts.get('the'), 3);
assert.strictEqual(counts.get('cat'), 1);
assert.strictEqual(counts.has('.'), false);
