import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseEvalTasks, readEvalTasks } from './eval-task.js';
import { buildTaskProgram, evaluatePassAtK } from './evaluate-pass-at-k.js';
import { passAtK } from './pass-at-k.js';
import { runWithPlainNode } from './plain-node-reference.js';

const packageDirectory = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('../__fixtures__/tiny-tasks.jsonl', import.meta.url));
const humanEvalTypeScript = fileURLToPath(new URL('../../../../../shared/datasets/humaneval-ts/HumanEval_typescript_v1.jsonl', import.meta.url));
const mbjsp = fileURLToPath(new URL('../../../../../shared/datasets/mbjsp/mbjsp_release_v1.2.jsonl', import.meta.url));

describe('readEvalTasks', () => {
  it('reads the mxeval JSONL fields', async () => {
    const tasks = await readEvalTasks(fixture);
    expect(tasks.map((task) => [task.taskId, task.language, task.canonicalSolution === undefined])).toEqual([
      ['Tiny/0', 'javascript', false],
      ['Tiny/1', 'javascript', false],
      ['Tiny/2', 'javascript', false],
      ['Tiny_ts/3', 'typescript', false],
      ['Tiny_ts/4', 'typescript', true],
    ]);
  });

  it('refuses corrupt lines and missing files with FileFormatError', async () => {
    expect(() => parseEvalTasks('{"task_id": "a"}\n', 'x.jsonl')).toThrow(expect.objectContaining({ code: 'CORRUPT_FILE', path: 'x.jsonl' }));
    expect(() => parseEvalTasks('{not json\n')).toThrow(expect.objectContaining({ code: 'CORRUPT_FILE' }));
    await expect(readEvalTasks(join(packageDirectory, 'no-such.jsonl'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});

describe('evaluatePassAtK', () => {
  it('scores canonical solutions: passes the good ones, fails the flawed one, skips the missing one', async () => {
    const tasks = await readEvalTasks(fixture);
    const report = await evaluatePassAtK({ tasks, canonical: true, projectDirectory: packageDirectory });
    expect(report.tasks.map((task) => [task.taskId, task.outcomes[0]?.status])).toEqual([
      ['Tiny/0', 'passed'],
      ['Tiny/1', 'passed'],
      ['Tiny/2', 'failed'],
      ['Tiny_ts/3', 'passed'],
      ['Tiny_ts/4', 'skipped'],
    ]);
    expect(report.scoredTasks).toBe(4);
    expect(report.skippedTasks).toBe(1);
    expect(report.passAtK['pass@1']).toBeCloseTo(3 / 4, 12);
  });

  it('samples completions and averages the unbiased estimator', async () => {
    const tasks = (await readEvalTasks(fixture)).slice(1, 3);
    const answers: Record<string, string[]> = {
      'Tiny/1': [
        "```js\nfunction isPalindrome(text) {\n  return text === [...text].reverse().join('');\n}\n```",
        '  return true;\n}\n',
        "  return text.split('').reverse().join('') === text;\n}\n",
      ],
      'Tiny/2': ['  return 0;\n}\n', '  return values.reduce((a, b) => a + b, 0) / values.length;\n}\n', '  for (;;) {}\n}\n'],
    };
    const report = await evaluatePassAtK({
      tasks,
      samples: 3,
      k: [1, 2],
      complete: async (task, { sampleIndex }) => answers[task.taskId]![sampleIndex]!,
      timeoutMilliseconds: 1500,
    });
    expect(report.tasks.map((task) => task.passed)).toEqual([2, 1]);
    expect(report.tasks[1]?.outcomes.map((outcome) => outcome.status)).toEqual(['failed', 'passed', 'timed-out']);
    expect(report.passAtK['pass@1']).toBeCloseTo((passAtK(3, 2, 1) + passAtK(3, 1, 1)) / 2, 12);
    expect(report.passAtK['pass@2']).toBeCloseTo((passAtK(3, 2, 2) + passAtK(3, 1, 2)) / 2, 12);
  });

  it('refuses a sampled run without a completer', async () => {
    await expect(evaluatePassAtK({ tasks: [], samples: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'complete' });
  });

  it.skipIf(!existsSync(mbjsp))('agrees with plain node task for task on a sample of MBJSP (developer machines only)', async () => {
    const tasks = (await readEvalTasks(mbjsp)).filter((_, index) => index % 60 === 0);
    const report = await evaluatePassAtK({ tasks, canonical: true, projectDirectory: packageDirectory });
    const nodePath = join(packageDirectory, '..', '..', 'node_modules');
    for (const [index, task] of tasks.entries()) {
      const reference = await runWithPlainNode(buildTaskProgram(task, task.canonicalSolution ?? ''), { nodePath });
      expect(report.tasks[index]?.outcomes[0]?.status === 'passed', task.taskId).toBe(reference.passed);
    }
  }, 120000);

  it.skipIf(!existsSync(humanEvalTypeScript))('type-strips HumanEval-TS tasks and runs their real tests (developer machines only)', async () => {
    const tasks = (await readEvalTasks(humanEvalTypeScript)).filter((task) => task.taskId === 'HumanEval_typescript/2');
    expect(tasks[0]?.canonicalSolution).toBeUndefined();
    const report = await evaluatePassAtK({
      tasks,
      samples: 2,
      complete: async (_task, { sampleIndex }) => (sampleIndex === 0 ? '  return number0 % 1.0;\n};\n' : '  return Math.floor(number0);\n};\n'),
      projectDirectory: packageDirectory,
    });
    expect(report.tasks[0]?.outcomes.map((outcome) => outcome.status)).toEqual(['passed', 'failed']);
  });
});

