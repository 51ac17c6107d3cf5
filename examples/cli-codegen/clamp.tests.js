const assert = require('node:assert');
assert.strictEqual(clamp(5, 0, 3), 3);
assert.strictEqual(clamp(-1, 0, 3), 0);
assert.strictEqual(clamp(2, 0, 3), 2);
