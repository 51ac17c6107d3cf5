import { strictEqual } from 'node:assert';
import { clamp } from './clamp';

strictEqual(clamp(5, 0, 3), 3);
strictEqual(clamp(-1, 0, 3), 0);
strictEqual(clamp(2, 0, 3), 2);
