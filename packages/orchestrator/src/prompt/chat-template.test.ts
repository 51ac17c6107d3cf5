import { describe, expect, it } from 'vitest';
import { buildChatPrompt, defaultSystemPrompt, renderChatPrompt } from './chat-template.js';

describe('chat template', () => {
  it('builds a chat prompt with documents, context and task', () => {
    expect(buildChatPrompt({ documents: [{ id: 'a', text: 'doc A\n' }], context: 'const x = 1;', instruction: 'Add y.' })).toEqual([
      { role: 'system', content: defaultSystemPrompt },
      { role: 'user', content: 'Reference documents:\n\n[a]\ndoc A\n\nContext:\n\nconst x = 1;\n\nTask:\n\nAdd y.' },
    ]);
  });

  it('leaves the system message out for an empty system prompt, and adds a repair turn', () => {
    expect(buildChatPrompt({ system: '', instruction: 'Add y.', repair: { answer: '```ts\nx\n```', feedback: 'Fix it.' } })).toEqual([
      { role: 'user', content: 'Task:\n\nAdd y.' },
      { role: 'assistant', content: '```ts\nx\n```' },
      { role: 'user', content: 'Fix it.' },
    ]);
  });

  it('renders messages with the local models\' plain-text template', () => {
    expect(renderChatPrompt([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }])).toBe('### System\nBe brief.\n\n### User\nHi\n\n### Assistant\n');
  });
});
