import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.chat-template';
const markerSymbol = Symbol.for(marker);

/**
 * A chat template refused the conversation (its `raise_exception`, such as "Conversation roles
 * must alternate") or failed while rendering it. Code: `CHAT_TEMPLATE_FAILED`; the template's own
 * error is the `cause`.
 */
export class ChatTemplateError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The file the template came from (`tokenizer_config.json` or `chat_template.jinja`). */
  readonly path: string;

  constructor({ path, message, cause }: { path: string; message: string; cause?: unknown }) {
    super({ code: 'CHAT_TEMPLATE_FAILED', message: `${path}: ${message}`, cause });
    this.name = 'ChatTemplateError';
    this.path = path;
  }

  /** Whether `error` is a {@link ChatTemplateError}, from any copy of this package. */
  static override isInstance(error: unknown): error is ChatTemplateError {
    return CodestackError.hasMarker(error, marker);
  }
}
