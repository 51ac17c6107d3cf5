import { strictEqual } from 'node:assert';
import { clamp } from '../src/clamp.js';

strictEqual(clamp(5, 0, 3), 3);
strictEqual(clamp(9, 0, 3), 9);
