import { describe, expect, it } from 'vitest';
import { extractCode } from './extract-code.js';

describe('extractCode', () => {
  it('takes the code out of a fenced block with a language tag', () => {
    const answer = 'Here you go:\n\n```ts\nexport const add = (a: number, b: number) => a + b;\n```\n\nHope it helps.';
    expect(extractCode(answer)).toEqual({
      code: 'export const add = (a: number, b: number) => a + b;\n',
      language: 'ts',
      source: 'fenced',
    });
  });

  it('prefers a block in a preferred language, otherwise the longest block', () => {
    const answer = '```bash\nnpm install lodash\n```\nthen\n```javascript\nconst _ = require("lodash");\n```\n';
    expect(extractCode(answer, { preferredLanguages: ['javascript', 'js'] }).code).toBe('const _ = require("lodash");\n');
    expect(extractCode('```\na\n```\n```\nlonger\n```').code).toBe('longer\n');
  });

  it('accepts tilde fences and fences without a tag', () => {
    expect(extractCode('~~~\nlet x = 1;\n~~~')).toEqual({ code: 'let x = 1;\n', language: undefined, source: 'fenced' });
  });

  it('keeps an unterminated fence that a token limit cut off', () => {
    expect(extractCode('```typescript\nfunction f() {\n  return 1;')).toEqual({
      code: 'function f() {\n  return 1;\n',
      language: 'typescript',
      source: 'fenced',
    });
  });

  it('treats an answer without fences as bare code', () => {
    expect(extractCode('\n\nfunction f() { return 2 }  \n')).toEqual({
      code: 'function f() { return 2 }\n',
      language: undefined,
      source: 'bare',
    });
  });

  it('keeps backticks inside template literals of a fenced block', () => {
    const answer = '```js\nconst s = `a ${1} b`;\n```';
    expect(extractCode(answer).code).toBe('const s = `a ${1} b`;\n');
  });
});
