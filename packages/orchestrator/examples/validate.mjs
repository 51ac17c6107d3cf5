import { extractCode, runInSandbox, validateCode } from '@codestack/orchestrator';

const answer = 'Here you go:\n```ts\nexport function clamp(value: number, low: number, high: number): number {\n  return Math.min(high, Math.max(low, value));\n}\n```';
const { code } = extractCode(answer);
const report = await validateCode({
  code,
  tests: "import { strictEqual } from 'node:assert';\nstrictEqual(clamp(5, 0, 3), 3);\nstrictEqual(clamp(-1, 0, 3), 0);\n",
});
console.log('valid:', report.ok, 'run:', report.run?.status);

const hostile = await runInSandbox({ code: "require('child_process').execSync('id')" });
console.log('hostile snippet:', hostile.status);
const loop = await runInSandbox({ code: 'for (;;) {}', timeoutMilliseconds: 500 });
console.log('infinite loop:', loop.status);
