/** Where {@link extractCode} found the code. */
export type ExtractedCodeSource = 'fenced' | 'bare';

/** Code pulled out of a model's answer. */
export interface ExtractedCode {
  /** The code, without fences. */
  code: string;
  /** The fence's language tag, lower-cased (`typescript`, `ts`, `js`…), or `undefined`. */
  language: string | undefined;
  /** Whether the code came from a fenced block or was the whole (bare) answer. */
  source: ExtractedCodeSource;
}

/** Options of {@link extractCode}. */
export interface ExtractCodeOptions {
  /**
   * Preferred languages, such as `['typescript', 'ts']`. Among several fenced blocks, the first
   * block whose tag is in this list wins; otherwise the longest block.
   */
  preferredLanguages?: readonly string[];
}

const fencePattern = /^([ \t]*)(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n([\s\S]*?)^\1?\2[ \t]*$/gm;

/**
 * Extracts code from a model's answer: fenced blocks (```` ``` ```` or `~~~`, with or without a
 * language tag), an unterminated trailing fence (a stream cut at its token limit), or, when the
 * answer has no fence, the whole answer as bare code.
 */
export function extractCode(text: string, options: ExtractCodeOptions = {}): ExtractedCode {
  const blocks: { code: string; language: string | undefined }[] = [];
  for (const match of text.matchAll(fencePattern)) {
    const tag = match[3]?.toLowerCase();
    blocks.push({ code: match[4] ?? '', language: tag ? tag : undefined });
  }
  if (blocks.length === 0) {
    const open = /^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n([\s\S]*)$/m.exec(text);
    if (open) {
      const tag = open[2]?.toLowerCase();
      return { code: trimCode(open[3] ?? ''), language: tag ? tag : undefined, source: 'fenced' };
    }
    return { code: trimCode(text), language: undefined, source: 'bare' };
  }
  const preferred = new Set((options.preferredLanguages ?? []).map((language) => language.toLowerCase()));
  const chosen =
    blocks.find((block) => block.language !== undefined && preferred.has(block.language)) ??
    blocks.reduce((longest, block) => (block.code.length > longest.code.length ? block : longest));
  return { code: trimCode(chosen.code), language: chosen.language, source: 'fenced' };
}

function trimCode(code: string): string {
  return code.replace(/^\s*\n/, '').replace(/\s+$/, '') + '\n';
}
