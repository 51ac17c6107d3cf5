import { strictEqual } from 'node:assert';
import { clamp } from './clamp';

strictEqual(clamp(5, 0, 3), 3);
strictEqual(clamp('7', 0, 3), 3);
