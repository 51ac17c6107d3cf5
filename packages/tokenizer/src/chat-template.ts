import { FileFormatError, InvalidArgumentError } from '@codestack/core';
import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from './chat-template-error.js';

/** One message of a conversation, as Hugging Face chat templates read it. */
export interface ChatMessage {
  /** `system`, `user`, `assistant`, `tool`, or another role the template knows. */
  role: string;
  /** The message text. */
  content: string;
  /** Anything else the template reads (`tool_calls`, `reasoning_content`, …), passed through as is. */
  [field: string]: unknown;
}

/** Options for {@link ChatTemplate.render}. */
export interface RenderChatTemplateOptions {
  /**
   * End with the header of an assistant turn (`<|im_start|>assistant\n` for Qwen), so the model
   * writes the reply next. Default `false`.
   */
  addGenerationPrompt?: boolean;
  /** Tool (function) definitions for templates that describe tools; passed as `tools`. */
  tools?: readonly unknown[];
  /** More template variables, such as Qwen3's `enable_thinking: false`. They cannot replace `messages`. */
  variables?: Readonly<Record<string, unknown>>;
}

/** A model's chat template (Jinja, rendered with `@huggingface/jinja`). */
export interface ChatTemplate {
  /** The Jinja source. */
  readonly source: string;
  /** The file it came from: `tokenizer_config.json` (`chat_template`) or `chat_template.jinja`. */
  readonly path: string;
  /**
   * Renders a conversation into the prompt text the model was trained on. The text holds the
   * model's control tokens as text (`<|im_start|>`, `<|begin_of_text|>`): encode it with
   * `parseSpecialTokens: true`, and only when the messages themselves cannot smuggle such tokens in.
   * Throws {@link ChatTemplateError} when the template refuses the conversation.
   */
  render(messages: readonly ChatMessage[], options?: RenderChatTemplateOptions): string;
}

function checkMessages(messages: unknown): asserts messages is readonly ChatMessage[] {
  if (!Array.isArray(messages)) throw new InvalidArgumentError({ argument: 'messages', message: 'expected an array of { role, content }' });
  messages.forEach((message: unknown, index) => {
    const candidate = message as { role?: unknown; content?: unknown } | null;
    if (typeof candidate !== 'object' || candidate === null || typeof candidate.role !== 'string' || typeof candidate.content !== 'string') {
      throw new InvalidArgumentError({ argument: `messages[${index}]`, message: 'expected { role: string, content: string }' });
    }
  });
}

/**
 * Compiles a chat template. `specialTokens` are the `bos_token`, `eos_token`, … texts the template
 * may refer to. A template that does not parse is a {@link FileFormatError} naming `path`.
 */
export function compileChatTemplate(source: string, path: string, specialTokens: Readonly<Record<string, string>>): ChatTemplate {
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `the chat template does not parse: ${(error as Error).message}`, cause: error });
  }
  return {
    source,
    path,
    render(messages, options = {}) {
      checkMessages(messages);
      const variables = {
        ...specialTokens,
        ...options.variables,
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? false,
        ...(options.tools === undefined ? {} : { tools: options.tools }),
      };
      try {
        return template.render(variables);
      } catch (error) {
        throw new ChatTemplateError({ path, message: `the chat template failed: ${(error as Error).message}`, cause: error });
      }
    },
  };
}
