import { cacheHelp, datastoreHelp } from './knn-options.js';

/** The model options block shared by every command that runs a model. */
const modelOptionsHelp = `Model options (without any: OPENAI_BASE_URL selects a remote model, else the bundled model runs locally):
  --model DIR             a local checkpoint directory (config.json, model.safetensors, vocabulary.json),
                          or a Hugging Face download of a llama/mistral/qwen2/qwen3 model (its own
                          tokenizer.json, chat template and end-of-sequence tokens are used)
  --encoding NAME         the tokenizer of a --model without vocabulary.json or tokenizer.json (default cl100k_base)
  --adapter DIR|NAME      a LoRA adapter directory, or a bundled adapter by name (rxjs)
  --base-url URL          an OpenAI-compatible endpoint, such as http://127.0.0.1:8080/v1
  --model-name NAME       the model the endpoint serves (default $OPENAI_MODEL or gpt-4o-mini)
  --api-key KEY           the endpoint's key (default $OPENAI_API_KEY)
  --context-tokens N      the endpoint model's context window, for the prompt budget (default 8192)
  --maximum-tokens N      the most tokens to generate (default: from the model's context window)`;

const commonHelp = `  --json                  results, progress and errors as JSON lines
  -h, --help              this help`;

/** The help text of each command and subcommand, keyed by its words (`''` is the overview). */
export const commandHelp: Readonly<Record<string, string>> = {
  '': `Usage: codestack <command> [options]

Commands:
  generate "<task>"       write code for a task, validate it, repair it
  complete                continue a code prefix (stdin, or --file F --line N)
  check FILE              type-check FILE, then run it (and --tests); exit 0 only when both pass
  tokens count [FILE]     count the tokens of FILE or stdin
  docs index|search       build or query a docs index of packages' declarations
  datastore build         a kNN-LM datastore of a project or packages, for --datastore
  eval pass-at-k          pass@k of a model on a task file
  eval completion         next-line and next-identifier exact match on held-out code
  serve                   an OpenAI-compatible HTTP server for a model
  help [COMMAND]          this overview, or a command's help

Options: -h, --help (also after any command), --version, --json (on every command).

Examples:
  codestack generate "write a function clamp(x, low, high)" --tests clamp.test.ts
  echo 'export function add(a: number, b: number) {' | codestack complete
  codestack serve --port 8080

Run 'codestack <command> --help' for a command's options and examples.
`,
  generate: `Usage: codestack generate "<task>" [options] [model options]

Writes code for the task, extracts it, type-checks and runs it (with --tests), and on failure feeds
the diagnostics back for up to --repair-rounds repairs. The model's text streams to stderr and the
final code is printed on stdout; with --json every event is a JSON line on stdout.
Exit code: 0 when the final code validates, 1 when it does not, 2 on a usage error.

Options:
  --docs DIR              retrieve reference documents from a docs index (codestack docs index)
  --minimum-relevance R   keep only documents whose relevance reaches R (default 0.9, chosen on a
                          validation set of tasks; 0 keeps every retrieved document)
  --tests FILE            tests to run against the code
  --language L            typescript (default) or javascript
  --repair-rounds N       repairs after a failed validation (default 2)
${datastoreHelp}
${commonHelp}

${modelOptionsHelp}

Examples:
  codestack generate "write a function clamp(x, low, high)"
  codestack generate "write add(a, b)" --tests add.test.ts --json > events.jsonl
  codestack generate "debounce with rxjs" --adapter rxjs --docs ./rxjs-index
`,
  complete: `Usage: codestack complete [--file F --line N] [options] [model options]

Continues a code prefix: stdin, or the lines 1..N of --file (the model writes line N + 1). The
completion is printed on stdout.

Options:
  --file F                read the prefix from F
  --line N                with --file: the last line of the prefix (default: the whole file)
  --docs DIR              put retrieved docs from a docs index before the prefix (shown on stderr)
${cacheHelp('default on for a local model; validation API members: 0 -> 33 of 143 exact')}
${commonHelp}

${modelOptionsHelp}

Examples:
  echo 'export function add(a: number, b: number) {' | codestack complete --maximum-tokens 16
  codestack complete --file src/index.ts --line 12 --json
  codestack complete --file src/index.ts --line 400 --cache --datastore ./project-datastore
`,
  check: `Usage: codestack check FILE [--tests FILE] [--timeout MS] [--json]

Type-checks FILE (TypeScript, or JavaScript for .js/.mjs/.cjs/.jsx), then runs it with the tests in
a sandbox. Exit code 0 only when both pass, 1 otherwise.

Options:
  --tests FILE            tests appended to the code before it runs
  --timeout MS            the run's time limit in milliseconds (default 10000)
${commonHelp}

Examples:
  codestack check add.ts --tests add.test.ts
  codestack check add.ts --json
`,
  tokens: `Usage: codestack tokens count [FILE] [--encoding NAME | --model DIR] [--json]

Run 'codestack tokens count --help' for its options.
`,
  'tokens count': `Usage: codestack tokens count [FILE] [--encoding NAME | --model DIR] [--json]

Counts the tokens of FILE, or of stdin without one.

Options:
  --encoding NAME         o200k_base (default; GPT-4o and later), cl100k_base, p50k_base, r50k_base
  --model DIR             the tokenizer of a model directory: a Hugging Face download's
                          tokenizer.json, or a codestack checkpoint's vocabulary.json
${commonHelp}

Examples:
  codestack tokens count src/index.ts
  git diff | codestack tokens count --encoding cl100k_base --json
  codestack tokens count src/index.ts --model ./Qwen2.5-Coder-0.5B-Instruct
`,
  docs: `Usage: codestack docs index|search ...

  docs index <package-or-markdown-file...> (--out DIR | --store URL)    build a docs index
  docs search "<query>" (--index DIR | --store URL) [-k N]              query one

Run 'codestack docs index --help' or 'codestack docs search --help' for their options.
`,
  'docs index': `Usage: codestack docs index <package-or-markdown-file...> (--out DIR | --store URL) [--json]

Indexes the declarations (.d.ts) of installed packages, and Markdown files, into DIR for
'docs search', 'generate --docs' and 'complete --docs', or into a store for 'docs search'.

Options:
  --out DIR               where to write the index
  --store URL             index into a store instead: postgres://user@host:port/database
                          (PostgreSQL with pgvector; needs pg) or pglite:DIRECTORY (needs
                          @electric-sql/pglite and @electric-sql/pglite-pgvector); a store holds
                          many packages, each re-index replaces its version; the password in
                          URL is never printed
${commonHelp}

Examples:
  codestack docs index rxjs zod --out ./docs-index
  codestack docs index @codestack/core README.md --out ./docs-index --json
  codestack docs index rxjs --store postgres://docs@localhost:5432/docs
`,
  'docs search': `Usage: codestack docs search "<query>" (--index DIR | --store URL) [-k N] [--package P] [--json]

Searches a docs index or store and prints the best matches, best first.

Options:
  --index DIR             the index (codestack docs index --out)
  --store URL             the store instead (codestack docs index --store); one of the two
  -k N                    how many results (default 10)
  --package P             only results from package P
${commonHelp}

Examples:
  codestack docs search "debounce an observable" --index ./docs-index -k 3
  codestack docs search "parse a schema" --index ./docs-index --package zod --json
  codestack docs search "debounce an observable" --store postgres://docs@localhost:5432/docs
`,
  datastore: `Usage: codestack datastore build --from PATH|PACKAGE... --out DIR [options]

Run 'codestack datastore build --help' for its options.
`,
  'datastore build': `Usage: codestack datastore build --from PATH|PACKAGE... --out DIR [--model DIR] [--json]

Builds a kNN-LM datastore (Khandelwal et al. 2020): runs the model over the JavaScript and
TypeScript files given and stores, for every token, the model's final hidden state (16 bits) as
the key and the next token as the value. Use it with --datastore DIR on complete, generate, eval
completion and serve. Its manifest binds it to the model's weights and tokenizer: another model
refuses it. The directory is written atomically when complete; an interrupted build (Ctrl-C)
keeps its work in DIR.partial and the same command continues from there. Progress goes to stderr;
the result reports the tokens stored, bytes per token and the build time.

Options:
  --from PATH|PACKAGE     what to memorise, repeatable (or several after one --from): a directory
                          (such as . for your project; node_modules, dist, build, coverage, out and
                          dot folders are skipped), a file, or an installed npm package by name
  --out DIR               the datastore directory
  --model DIR             the model whose hidden states are stored (default: the bundled model)
  --encoding NAME         the tokenizer of a --model without vocabulary.json or tokenizer.json
  --window-tokens N       tokens per forward pass (default: 1024, or the model's context when shorter)
${commonHelp}

Examples:
  codestack datastore build --from . --out .codestack/datastore
  codestack datastore build --from src lodash --out ./datastore --json
  codestack complete --file src/index.ts --line 120 --datastore .codestack/datastore
`,
  eval: `Usage: codestack eval pass-at-k|completion ...

Run 'codestack eval pass-at-k --help' or 'codestack eval completion --help' for their options.
`,
  'eval pass-at-k': `Usage: codestack eval pass-at-k --data FILE.jsonl [options] [model options]

Samples completions for each task (HumanEval-style JSONL: task_id, prompt, test, entry_point),
runs them against the tests and prints pass@k. Progress goes to stderr.

Options:
  --data FILE.jsonl       the tasks
  --samples N             samples per task (default 1)
  --k 1,10                the k values to report (default 1)
  --canonical             score the tasks' canonical solutions instead of a model (checks the data)
  --concurrency N         tasks in flight at once
  --limit N               only the first N tasks
  --temperature T         sampling temperature (default 0, or 0.8 with --samples > 1)
${commonHelp}

${modelOptionsHelp}

Examples:
  codestack eval pass-at-k --data tasks.jsonl --canonical
  codestack eval pass-at-k --data tasks.jsonl --samples 10 --k 1,10 --json
`,
  'eval completion': `Usage: codestack eval completion (--data DIR|FILE.jsonl | --cases FILE.jsonl) [options] [model options]

Exact match (and edit similarity) of the next line and the next identifier on held-out
JavaScript and TypeScript files. Progress goes to stderr.

Options:
  --data DIR|FILE.jsonl   held-out sources: a directory, or JSON lines with path and text
  --cases FILE.jsonl      your own cases instead: one JSON object a line,
                          { "prefix", "expected", "kind": "next-line" | "next-identifier" }
  --docs DIR              put retrieved docs from a docs index before each prefix
  --limit N               only the first N files (with --cases: the first N cases)
  --cases-per-file N      cases drawn from each file (default 4)
  --prompt-tokens N       the prompt budget (default: the context window less the output)
  --document-tokens N     the most tokens of retrieved docs
  --details               list every case in the result
${cacheHelp('default off, so the plain run is the model alone')}
                          (in evaluation, a case's cache holds that case's own prefix only)
${commonHelp}

${modelOptionsHelp}

Examples:
  codestack eval completion --data held-out/ --limit 20
  codestack eval completion --data split.jsonl --adapter rxjs --docs ./rxjs-index --json
  codestack eval completion --cases my-benchmark.jsonl --json
  codestack eval completion --data held-out/ --datastore ./project-datastore --cache --json
`,
  serve: `Usage: codestack serve [--port N] [--host H] [--server-api-key KEY] [--lora-modules NAME=DIR ...] [model options]

Serves the model over an OpenAI-compatible HTTP API (/v1/models, /v1/completions,
/v1/chat/completions, with streaming) until SIGINT or SIGTERM. With --lora-modules, as vLLM's,
each adapter is a model id of its own (listed by /v1/models with parent = the base model): a
request's "model" picks the adapter, swapped per request on the one loaded base model.

Options:
  --port N                the port (default 8080; 0 picks a free one)
  --host H                the interface (default 127.0.0.1)
  --server-api-key KEY    require 'Authorization: Bearer KEY' (default $CODESTACK_SERVER_API_KEY)
  --lora-modules NAME=DIR serve the adapter in DIR as model NAME (repeatable; also vLLM's JSON form
                          '{"name":"NAME","path":"DIR"}'; with the bundled model a bare bundled
                          adapter name such as rxjs); not with --adapter, which merges one adapter
${datastoreHelp}
                          (for every request to the base model; an adapter changes the hidden
                          states the datastore's keys hold, so adapter requests run without it)
${commonHelp}

${modelOptionsHelp}

Examples:
  codestack serve --port 8080
  codestack serve --model ./my-checkpoint --port 0 --json
  codestack serve --lora-modules rxjs
  codestack serve --model ./base --lora-modules rxjs=./adapters/rxjs --lora-modules zod=./adapters/zod
  codestack serve --datastore ./project-datastore
`,
};
