/**
 * Harness check on the full MBJSP set (developer machines only): scores every canonical solution
 * with the sandboxed harness and with plain `node`, and prints every task where they disagree.
 * Usage: npx tsx scripts/mbjsp-agreement.ts [path/to/mbjsp_release_v1.2.jsonl]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTaskProgram, evaluatePassAtK } from '../src/eval/evaluate-pass-at-k.js';
import { readEvalTasks } from '../src/eval/eval-task.js';
import { runWithPlainNode } from '../src/eval/plain-node-reference.js';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const path = process.argv[2] ?? join(packageDirectory, '../../../shared/datasets/mbjsp/mbjsp_release_v1.2.jsonl');
const tasks = await readEvalTasks(path);
const started = performance.now();
const report = await evaluatePassAtK({ tasks, canonical: true, projectDirectory: packageDirectory, concurrency: 2 });
const harnessSeconds = (performance.now() - started) / 1000;
const nodePath = join(packageDirectory, '..', '..', 'node_modules');
const reference: boolean[] = new Array(tasks.length);
let nextIndex = 0;
await Promise.all(
  [0, 1].map(async () => {
    while (nextIndex < tasks.length) {
      const index = nextIndex++;
      const task = tasks[index]!;
      reference[index] = (await runWithPlainNode(buildTaskProgram(task, task.canonicalSolution ?? ''), { nodePath })).passed;
    }
  }),
);
const disagreements = tasks.flatMap((task, index) => {
  const outcome = report.tasks[index]!.outcomes[0]!;
  const harness = outcome.status === 'passed';
  return harness === reference[index] ? [] : [{ taskId: task.taskId, harness: outcome.status, plainNode: reference[index] ? 'passed' : 'failed', excerpt: outcome.errorExcerpt }];
});
const referencePassed = reference.filter(Boolean).length;
console.log(JSON.stringify({ tasks: tasks.length, harnessPassAt1: report.passAtK['pass@1'], harnessPassed: report.tasks.filter((task) => task.passed > 0).length, plainNodePassed: referencePassed, plainNodeShare: referencePassed / tasks.length, harnessSeconds, disagreements }, null, 2));
