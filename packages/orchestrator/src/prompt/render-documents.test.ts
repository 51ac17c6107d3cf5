import { describe, expect, it } from 'vitest';
import { renderDocuments } from './render-documents.js';

const documents = [
  { id: 'a', text: '// a (function, pkg@1.0.0 a.ts:1)\na(): void\nDoes A.\n' },
  { id: 'b', text: '\nb(): number\n' },
];

describe('renderDocuments', () => {
  it('renders [id] blocks, under a heading as a section', () => {
    expect(renderDocuments(documents)).toBe('[a]\n// a (function, pkg@1.0.0 a.ts:1)\na(): void\nDoes A.\n\n[b]\nb(): number');
    expect(renderDocuments(documents, { layout: 'section' })).toBe(`Reference documents:\n\n${renderDocuments(documents)}`);
  });

  it('renders line comments without ids or blank lines, keeping lines that are comments already', () => {
    expect(renderDocuments(documents, { layout: 'line-comments' })).toBe('// a (function, pkg@1.0.0 a.ts:1)\n// a(): void\n// Does A.\n// b(): number\n');
  });

  it('renders nothing for no documents', () => {
    expect(renderDocuments([], { layout: 'section' })).toBe('');
  });
});
