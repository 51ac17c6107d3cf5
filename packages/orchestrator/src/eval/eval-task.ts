import { readFile } from 'node:fs/promises';
import { FileFormatError } from '@codestack/core';

/** One task of the mxeval / MultiPL-E JSONL format (MBJSP, HumanEval-TS…). */
export interface EvalTask {
  /** Such as `MBJSP/1`. */
  taskId: string;
  /** The function signature and doc comment the model continues. */
  prompt: string;
  /** The test program that runs after the completion; it throws or exits non-zero on failure. */
  test: string;
  /** The name of the function under test. */
  entryPoint: string;
  /** The reference completion, or `undefined` where the dataset ships none. */
  canonicalSolution: string | undefined;
  /** `javascript` or `typescript` (from the `language` field, else guessed from the task id). */
  language: 'javascript' | 'typescript';
}

/**
 * Parses JSONL text in the mxeval format (`task_id`, `prompt`, `test`, `entry_point`,
 * `canonical_solution`). A line that is not JSON or lacks a field is refused with a
 * `FileFormatError` (`CORRUPT_FILE`) naming the line.
 */
export function parseEvalTasks(text: string, path = '<input>'): EvalTask[] {
  const tasks: EvalTask[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      throw new FileFormatError({ path, reason: 'corrupt', message: `line ${index + 1} is not valid JSON`, cause: error });
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new FileFormatError({ path, reason: 'corrupt', message: `line ${index + 1} is not a JSON object` });
    }
    for (const field of ['task_id', 'prompt', 'test', 'entry_point'] as const) {
      if (typeof record[field] !== 'string') {
        throw new FileFormatError({ path, reason: 'corrupt', message: `line ${index + 1} lacks the string field '${field}'` });
      }
    }
    const canonical = record.canonical_solution;
    if (canonical !== undefined && canonical !== null && typeof canonical !== 'string') {
      throw new FileFormatError({ path, reason: 'corrupt', message: `line ${index + 1}: 'canonical_solution' must be a string or null` });
    }
    const taskId = record.task_id as string;
    const declared = typeof record.language === 'string' ? record.language.toLowerCase() : '';
    const language = declared === 'typescript' || declared === 'ts' || (!declared && /typescript|_ts\b/i.test(taskId)) ? 'typescript' : 'javascript';
    tasks.push({
      taskId,
      prompt: record.prompt as string,
      test: record.test as string,
      entryPoint: record.entry_point as string,
      canonicalSolution: typeof canonical === 'string' ? canonical : undefined,
      language,
    });
  }
  return tasks;
}

/** Reads and parses a JSONL task file; a missing file is a `FileFormatError` (`MISSING_FILE`). */
export async function readEvalTasks(path: string): Promise<EvalTask[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the task file', cause: error });
  }
  return parseEvalTasks(text, path);
}
