import { InvalidArgumentError } from '@codestack/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ChatTemplateError } from './chat-template-error.js';
import { compileChatTemplate } from './chat-template.js';
import { loadHuggingFaceTokenizer, type HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { modelDirectories } from './test-support.js';

const conversation = [
  { role: 'system', content: 'You write TypeScript.' },
  { role: 'user', content: 'Add two numbers.' },
  { role: 'assistant', content: 'const add = (a, b) => a + b;' },
];

let qwen3: HuggingFaceTokenizer;
let llama: HuggingFaceTokenizer;
beforeAll(async () => {
  [qwen3, llama] = await Promise.all([loadHuggingFaceTokenizer(modelDirectories.qwen3), loadHuggingFaceTokenizer(modelDirectories.llama3)]);
}, 60_000);

describe('chat templates', () => {
  it("renders Qwen3's ChatML format, with and without the generation prompt", () => {
    expect(qwen3.renderChatTemplate(conversation.slice(0, 2))).toBe(
      '<|im_start|>system\nYou write TypeScript.<|im_end|>\n<|im_start|>user\nAdd two numbers.<|im_end|>\n',
    );
    expect(qwen3.renderChatTemplate(conversation.slice(0, 2), { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou write TypeScript.<|im_end|>\n<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n',
    );
    // Qwen3's template writes an empty think block into the last assistant turn.
    expect(qwen3.renderChatTemplate(conversation)).toBe(
      '<|im_start|>system\nYou write TypeScript.<|im_end|>\n<|im_start|>user\nAdd two numbers.<|im_end|>\n' +
        '<|im_start|>assistant\n<think>\n\n</think>\n\nconst add = (a, b) => a + b;<|im_end|>\n',
    );
    // Template variables reach the template: Qwen3 without thinking opens an empty think block.
    expect(qwen3.renderChatTemplate(conversation.slice(1, 2), { addGenerationPrompt: true, variables: { enable_thinking: false } })).toBe(
      '<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it("renders Llama 3's header format with the BOS text first", () => {
    const rendered = llama.renderChatTemplate(conversation, { addGenerationPrompt: true });
    expect(rendered).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou write TypeScript.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nAdd two numbers.<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nconst add = (a, b) => a + b;<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    // The encoded prompt starts with one BOS, written by the template.
    const ids = llama.encode(rendered, { parseSpecialTokens: true });
    expect(ids.slice(0, 2)).toEqual([128_000, 128_006]);
    expect(ids.filter((id) => id === 128_000)).toHaveLength(1);
    expect(llama.decode(ids)).toBe(rendered);
  });

  it('passes tools to templates that describe them', () => {
    const tool = { type: 'function', function: { name: 'read_file', description: 'Reads a file', parameters: { type: 'object' } } };
    const rendered = qwen3.renderChatTemplate(conversation.slice(1, 2), { tools: [tool], addGenerationPrompt: true });
    expect(rendered).toContain('<tools>');
    expect(rendered).toContain('"name": "read_file"');
  });

  it('refuses bad messages and reports template failures as typed errors', () => {
    expect(() => qwen3.renderChatTemplate('hi' as never)).toThrow(InvalidArgumentError);
    expect(() => qwen3.renderChatTemplate([{ role: 'user' } as never])).toThrow(InvalidArgumentError);
    const strict = compileChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('roles must alternate') }}{% endif %}ok", 'chat_template.jinja', {});
    expect(strict.render([{ role: 'user', content: 'u' }])).toBe('ok');
    expect(() => strict.render([{ role: 'system', content: 's' }])).toThrow(ChatTemplateError);
    expect(() => strict.render([{ role: 'system', content: 's' }])).toThrow(/roles must alternate/);
  });
});
