/**
 * A light scanner of TypeScript/JavaScript source that finds, for each line, the bracket depth it
 * starts at (0 at the top level), or -1 when it starts inside a comment, string, template literal
 * or regular expression. It does not parse; it only tracks what can hide a brace.
 */
export function findLineDepths(source: string): number[] {
  const depths: number[] = [0];
  // Open brackets; 'template' marks the `${` of a template literal's substitution.
  const stack: ('(' | '[' | '{' | 'template')[] = [];
  type State = 'code' | 'line-comment' | 'block-comment' | 'single' | 'double' | 'template' | 'regex' | 'regex-class';
  let state: State = 'code';
  // Whether a `/` here would start a regular expression (rather than divide).
  let regexAllowed = true;
  let word = '';
  const length = source.length;
  for (let index = 0; index < length; index++) {
    const character = source[index] as string;
    if (character === '\n') {
      if (state === 'line-comment') state = 'code';
      if (state === 'regex' || state === 'regex-class' || state === 'single' || state === 'double') state = 'code';
      depths.push(state === 'code' ? stack.length : -1);
      if (state === 'code') word = '';
      continue;
    }
    switch (state) {
      case 'line-comment':
        break;
      case 'block-comment':
        if (character === '*' && source[index + 1] === '/') {
          state = 'code';
          index++;
        }
        break;
      case 'single':
      case 'double':
        if (character === '\\') index++;
        else if ((state === 'single' && character === "'") || (state === 'double' && character === '"')) {
          state = 'code';
          regexAllowed = false;
        }
        break;
      case 'template':
        if (character === '\\') index++;
        else if (character === '`') {
          state = 'code';
          regexAllowed = false;
        } else if (character === '$' && source[index + 1] === '{') {
          stack.push('template');
          state = 'code';
          regexAllowed = true;
          index++;
        }
        break;
      case 'regex':
        if (character === '\\') index++;
        else if (character === '[') state = 'regex-class';
        else if (character === '/') {
          state = 'code';
          regexAllowed = false;
        }
        break;
      case 'regex-class':
        if (character === '\\') index++;
        else if (character === ']') state = 'regex';
        break;
      case 'code': {
        if (/[\w$]/.test(character)) {
          word += character;
          regexAllowed = keywordsBeforeExpression.has(word);
          break;
        }
        word = '';
        if (character === ' ' || character === '\t' || character === '\r') break;
        if (character === '/') {
          const next = source[index + 1];
          if (next === '/') {
            state = 'line-comment';
            index++;
          } else if (next === '*') {
            state = 'block-comment';
            index++;
          } else if (regexAllowed) {
            state = 'regex';
          } else {
            regexAllowed = true;
          }
          break;
        }
        if (character === "'") state = 'single';
        else if (character === '"') state = 'double';
        else if (character === '`') state = 'template';
        else if (character === '(' || character === '[' || character === '{') {
          stack.push(character);
          regexAllowed = true;
        } else if (character === ')' || character === ']') {
          stack.pop();
          regexAllowed = false;
        } else if (character === '}') {
          const open = stack.pop();
          if (open === 'template') state = 'template';
          // After a block a regex may follow; after an object literal it may not. Blocks are more common.
          regexAllowed = true;
        } else {
          regexAllowed = true;
        }
        break;
      }
    }
  }
  return depths;
}

const keywordsBeforeExpression = new Set([
  'return',
  'typeof',
  'instanceof',
  'in',
  'of',
  'new',
  'delete',
  'void',
  'throw',
  'case',
  'do',
  'else',
  'yield',
  'await',
]);
