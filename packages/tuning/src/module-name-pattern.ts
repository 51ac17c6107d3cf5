import { InvalidArgumentError } from '@codestack/core';

/** The longest pattern {@link compileModuleNamePattern} accepts. */
export const maximumModuleNamePatternLength = 256;
const maximumStates = 4_096;
const maximumCountedRepeat = 16;

type Node =
  | { kind: 'character'; test: (character: string) => boolean }
  | { kind: 'sequence'; items: Node[] }
  | { kind: 'choice'; options: Node[] }
  | { kind: 'repeat'; item: Node; minimum: number; maximum: number };

type State = { kind: 'character'; test: (character: string) => boolean; next: number } | { kind: 'split'; next: number[] } | { kind: 'match' };

const refuse = (pattern: string, message: string): InvalidArgumentError =>
  new InvalidArgumentError({ argument: 'config.targetModules', message: `pattern ${JSON.stringify(pattern.slice(0, 80))}: ${message}` });

const classEscapes: Record<string, (character: string) => boolean> = {
  d: (character) => character >= '0' && character <= '9',
  w: (character) => /^[A-Za-z0-9_]$/.test(character),
  s: (character) => /^\s$/.test(character),
};

/** Parses the supported subset of regular-expression syntax into a tree. */
function parse(pattern: string): Node {
  let position = 0;
  const peek = (): string | undefined => pattern[position];
  const escaped = (): (character: string) => boolean => {
    const character = pattern[position++];
    if (character === undefined) throw refuse(pattern, 'ends with a backslash');
    const named = classEscapes[character];
    if (named !== undefined) return named;
    if (/[A-Za-z0-9]/.test(character)) throw refuse(pattern, `the escape \\${character} is not supported`);
    return (candidate) => candidate === character;
  };
  const characterClass = (): ((character: string) => boolean) => {
    const negated = peek() === '^';
    if (negated) position++;
    const tests: ((character: string) => boolean)[] = [];
    let first = true;
    for (;;) {
      const character = pattern[position++];
      if (character === undefined) throw refuse(pattern, 'an unclosed [');
      if (character === ']' && !first) break;
      first = false;
      if (character === '\\') {
        tests.push(escaped());
        continue;
      }
      if (peek() === '-' && pattern[position + 1] !== undefined && pattern[position + 1] !== ']') {
        const last = pattern[position + 1]!;
        position += 2;
        if (last === '\\' || last < character) throw refuse(pattern, `the range ${character}-${last} is not supported`);
        tests.push((candidate) => candidate >= character && candidate <= last);
        continue;
      }
      tests.push((candidate) => candidate === character);
    }
    return (candidate) => tests.some((test) => test(candidate)) !== negated;
  };
  const atom = (): Node => {
    const character = pattern[position++] as string;
    if (character === '(') {
      if (pattern.startsWith('?:', position)) position += 2;
      else if (peek() === '?') throw refuse(pattern, 'lookarounds and named groups are not supported');
      const inner = choice();
      if (pattern[position++] !== ')') throw refuse(pattern, 'an unclosed (');
      return inner;
    }
    if (character === '[') return { kind: 'character', test: characterClass() };
    if (character === '.') return { kind: 'character', test: (candidate) => candidate !== '\n' };
    if (character === '\\') return { kind: 'character', test: escaped() };
    if ('*+?{)|]}'.includes(character)) throw refuse(pattern, `unexpected ${character} at ${position - 1}`);
    if (character === '^' || character === '$') throw refuse(pattern, 'anchors are only allowed at the very start and end');
    return { kind: 'character', test: (candidate) => candidate === character };
  };
  const quantified = (): Node => {
    const node = atom();
    {
      const character = peek();
      let minimum: number;
      let maximum: number;
      if (character === '*') [minimum, maximum] = [0, Number.POSITIVE_INFINITY];
      else if (character === '+') [minimum, maximum] = [1, Number.POSITIVE_INFINITY];
      else if (character === '?') [minimum, maximum] = [0, 1];
      else if (character === '{') {
        const counted = /^\{(\d{1,2})(,(\d{0,2}))?\}/.exec(pattern.slice(position));
        if (counted === null) throw refuse(pattern, 'a { that is not {m}, {m,} or {m,n}');
        minimum = Number(counted[1]);
        maximum = counted[2] === undefined ? minimum : counted[3] === '' ? Number.POSITIVE_INFINITY : Number(counted[3]);
        if (maximum < minimum || minimum > maximumCountedRepeat || (Number.isFinite(maximum) && maximum > maximumCountedRepeat)) {
          throw refuse(pattern, `counts above ${maximumCountedRepeat} are not supported`);
        }
        position += counted[0].length - 1;
      } else return node;
      position++;
      if (peek() === '?') position++; // A lazy quantifier matches the same names in a full match.
      // One quantifier per atom, as in JavaScript: a second one is refused as unexpected.
      return { kind: 'repeat', item: node, minimum, maximum };
    }
  };
  const sequence = (): Node => {
    const items: Node[] = [];
    while (position < pattern.length && peek() !== '|' && peek() !== ')') items.push(quantified());
    return { kind: 'sequence', items };
  };
  function choice(): Node {
    const options = [sequence()];
    while (peek() === '|') {
      position++;
      options.push(sequence());
    }
    return options.length === 1 ? options[0]! : { kind: 'choice', options };
  }
  const tree = choice();
  if (position !== pattern.length) throw refuse(pattern, `unexpected ${pattern[position]} at ${position}`);
  return tree;
}

/** Thompson's construction, built backwards from the continuation `next`. */
function compile(node: Node, next: number, states: State[], pattern: string): number {
  if (states.length > maximumStates) throw refuse(pattern, 'too large once its counted repeats are expanded');
  switch (node.kind) {
    case 'character':
      states.push({ kind: 'character', test: node.test, next });
      return states.length - 1;
    case 'sequence': {
      let start = next;
      for (let index = node.items.length - 1; index >= 0; index--) start = compile(node.items[index]!, start, states, pattern);
      return start;
    }
    case 'choice': {
      const split: State = { kind: 'split', next: [] };
      states.push(split);
      const index = states.length - 1;
      split.next = node.options.map((option) => compile(option, next, states, pattern));
      return index;
    }
    case 'repeat': {
      let start = next;
      if (node.maximum === Number.POSITIVE_INFINITY) {
        const loop: State = { kind: 'split', next: [] };
        states.push(loop);
        const index = states.length - 1;
        loop.next = [compile(node.item, index, states, pattern), next];
        start = index;
      } else {
        for (let count = node.maximum - node.minimum; count > 0; count--) {
          const optional: State = { kind: 'split', next: [] };
          const body = compile(node.item, start, states, pattern);
          states.push(optional);
          optional.next = [body, start];
          start = states.length - 1;
        }
      }
      for (let count = 0; count < node.minimum; count++) start = compile(node.item, start, states, pattern);
      return start;
    }
  }
}

/**
 * Compiles a PEFT-style `target_modules` pattern (a regular expression matched against the whole
 * module name) without using a backtracking engine: the pattern is limited to 256 characters and
 * a conservative subset (literals, `.`, classes, `\d` `\w` `\s`, groups, `|`, `*` `+` `?` and
 * counts up to 16, `^`/`$` at the ends), and it is matched by simulating its automaton, so every
 * match takes time linear in the name times the pattern, whatever the nesting. Anything else is
 * refused with {@link InvalidArgumentError} (`config.targetModules`).
 */
export function compileModuleNamePattern(pattern: string): (name: string) => boolean {
  if (typeof pattern !== 'string') throw new InvalidArgumentError({ argument: 'config.targetModules', message: 'expected a string pattern' });
  if (pattern.length > maximumModuleNamePatternLength) throw refuse(pattern, `longer than ${maximumModuleNamePatternLength} characters`);
  let body = pattern;
  if (body.startsWith('^')) body = body.slice(1);
  if (body.endsWith('$') && !body.endsWith('\\$')) body = body.slice(0, -1);
  const states: State[] = [{ kind: 'match' }];
  const start = compile(parse(body), 0, states, pattern);
  const closure = (seeds: number[]): Set<number> => {
    const reached = new Set<number>();
    const stack = [...seeds];
    while (stack.length > 0) {
      const index = stack.pop()!;
      if (reached.has(index)) continue;
      reached.add(index);
      const state = states[index]!;
      if (state.kind === 'split') stack.push(...state.next);
    }
    return reached;
  };
  return (name) => {
    let current = closure([start]);
    for (const character of name) {
      const following: number[] = [];
      for (const index of current) {
        const state = states[index]!;
        if (state.kind === 'character' && state.test(character)) following.push(state.next);
      }
      if (following.length === 0) return false;
      current = closure(following);
    }
    return current.has(0);
  };
}
