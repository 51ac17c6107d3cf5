import type { LanguageModel, LanguageModelCallOptions, LanguageModelMessage, Retriever, Tokenizer } from '@codestack/core';
import { generateText } from '../models/generate-text.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';
import { diagnosticRetrievalMiddleware, repairProviderOptions } from '../middleware/diagnostic-retrieval-middleware.js';
import { buildChatPrompt, renderChatPrompt } from '../prompt/chat-template.js';
import { compactDocuments, defaultRelevanceThreshold, gateDocuments, type CompactableDocument } from '../prompt/compact-documents.js';
import { renderDocuments } from '../prompt/render-documents.js';
import { repairFeedback } from '../generate-code/generate-code.js';
import { typeCheck } from '../validation/type-check/type-check.js';
import { brokenAnswers as defaultBrokenAnswers, type BrokenAnswer } from './prompt-broken-answers.js';
import { splitPromptTasks, type PromptTask } from './prompt-tasks.js';
import { documentName } from './relevance-threshold-sweep.js';

/** How one prompt configuration scores over the task set. */
export interface PromptScore {
  /** Relevant documents in the prompts / documents in the prompts (all tasks; 1 when no document was sent). */
  precision: number;
  /** API tasks whose prompt holds a document of an API the task needs / API tasks. */
  recall: number;
  /** Plain tasks (no API needed) whose prompt holds no document / plain tasks. */
  emptyWhenPlain: number;
  /** Documents sent, over all tasks. */
  documents: number;
  /** Mean tokens of the whole rendered prompt (system, documents, task) per task. */
  meanPromptTokens: number;
  /** Mean tokens of the documents section per task. */
  meanDocumentTokens: number;
}

/** One broken answer's outcome. */
export interface BrokenAnswerOutcome {
  kind: BrokenAnswer['kind'];
  api: string;
  /** What the type checker said (codes). */
  diagnostics: number[];
  /** The queries made of the diagnostics and the code. */
  queries: string[];
  /** The documents inserted into the repair prompt. */
  inserted: string[];
  /** Whether the API's real signature reached the repair prompt: from `providerOptions.codestack.repair`. */
  reachedMarked: boolean;
  /** The same, from the repair message's text alone (no marker: a chat client's conversation). */
  reachedFromText: boolean;
}

/** The report of {@link evaluatePrompt}. */
export interface PromptReport {
  /** Tasks scored (the test half of `eval/prompt-tasks.ts`). */
  tasks: number;
  /** No gate (`minimumRelevance: 0`), every retrieved document's full text: the prompt before issue 18. */
  before: PromptScore;
  /** The relevance gate (`minimumRelevance`) and compact documents: `generateCode`'s prompt now. */
  after: PromptScore;
  /** The threshold of `after`. */
  minimumRelevance: number;
  /** The diagnostics-driven retrieval of the repair round over the broken answers. */
  repair: { answers: number; reachedMarked: number; reachedFromText: number; outcomes: BrokenAnswerOutcome[] };
}

/** Options of {@link evaluatePrompt}. */
export interface EvaluatePromptOptions {
  /** A docs-index retriever over `@types/node` (`createDocsIndexRetriever`). */
  retriever: Retriever;
  tokenizer: Tokenizer;
  /** Where `@types/node` resolves, for type-checking the broken answers. */
  projectDirectory: string;
  /** Default: the test half of `eval/prompt-tasks.ts`. */
  tasks?: readonly PromptTask[];
  /** Default `eval/prompt-broken-answers.ts`. */
  brokenAnswers?: readonly BrokenAnswer[];
  /** Documents retrieved per task. Default 4 (`generateCode`'s). */
  topK?: number;
  /** Tokens the documents may take after. Default 1024 (`generateCode`'s at an 8192-token window). */
  maximumDocumentTokens?: number;
  /** The relevance gate after. Default `defaultRelevanceThreshold` (as `sweepRelevanceThreshold` chooses it on validation). */
  minimumRelevance?: number;
}

/**
 * An evaluation of the prompt itself, without a model: for each task, which documents the prompt
 * would carry before (no gate, full text) and after (relevance gate, compact documents), scored
 * for precision and recall against the APIs the task needs and for tokens; and for each broken
 * answer, whether diagnostics-driven retrieval (`diagnosticRetrievalMiddleware`, the lookup
 * `generateCode` uses) puts the needed API's real signature into the repair prompt, checked on
 * the prompt a recording model receives.
 */
export async function evaluatePrompt(options: EvaluatePromptOptions): Promise<PromptReport> {
  const tasks = options.tasks ?? splitPromptTasks().test;
  const topK = options.topK ?? 4;
  const minimumRelevance = options.minimumRelevance ?? defaultRelevanceThreshold;
  const retrieved = await Promise.all(tasks.map(async (task) => (await options.retriever.retrieve(task.task, { topK })) as CompactableDocument[]));
  const score = (select: (documents: CompactableDocument[]) => CompactableDocument[]): PromptScore => {
    let sent = 0;
    let relevant = 0;
    let recalled = 0;
    let apiTasks = 0;
    let empty = 0;
    let plainTasks = 0;
    let promptTokens = 0;
    let documentTokens = 0;
    tasks.forEach((task, index) => {
      const documents = select(retrieved[index]!);
      const isRelevant = (document: CompactableDocument): boolean => task.apis.includes(documentName(document));
      sent += documents.length;
      relevant += documents.filter(isRelevant).length;
      if (task.apis.length > 0) {
        apiTasks += 1;
        if (documents.some(isRelevant)) recalled += 1;
      } else {
        plainTasks += 1;
        if (documents.length === 0) empty += 1;
      }
      promptTokens += options.tokenizer.countTokens(renderChatPrompt(buildChatPrompt({ documents, instruction: task.task })));
      documentTokens += documents.length === 0 ? 0 : options.tokenizer.countTokens(renderDocuments(documents, { layout: 'section' }));
    });
    const round = (value: number): number => Number(value.toFixed(3));
    return {
      precision: round(sent === 0 ? 1 : relevant / sent),
      recall: round(apiTasks === 0 ? 1 : recalled / apiTasks),
      emptyWhenPlain: round(plainTasks === 0 ? 1 : empty / plainTasks),
      documents: sent,
      meanPromptTokens: round(promptTokens / Math.max(1, tasks.length)),
      meanDocumentTokens: round(documentTokens / Math.max(1, tasks.length)),
    };
  };
  const before = score((documents) => gateDocuments(documents, 0).kept);
  const after = score((documents) =>
    compactDocuments(gateDocuments(documents, minimumRelevance).kept, { tokenizer: options.tokenizer, maximumTokens: options.maximumDocumentTokens ?? 1024 }).documents,
  );

  const outcomes: BrokenAnswerOutcome[] = [];
  for (const broken of options.brokenAnswers ?? defaultBrokenAnswers) {
    const checked = await typeCheck({ code: broken.code, projectDirectory: options.projectDirectory, fileName: 'answer.ts' });
    const diagnostics = checked.diagnostics.filter((diagnostic) => diagnostic.category === 'error');
    let queries: string[] = [];
    let inserted: string[] = [];
    let received = '';
    const recorder: LanguageModel = {
      specificationVersion: 'codestack-v1',
      provider: 'prompt-eval',
      modelId: 'recorder',
      async doGenerate(call: LanguageModelCallOptions) {
        received = typeof call.prompt === 'string' ? call.prompt : call.prompt.map((message) => message.content).join('\n\n');
        return { text: '', finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 } };
      },
      async doStream() {
        throw new Error('not used');
      },
    };
    const model = wrapLanguageModel({ model: recorder, middleware: diagnosticRetrievalMiddleware({ retriever: options.retriever, tokenizer: options.tokenizer, onRetrieval: (record) => {
      queries = record.queries;
      inserted = record.used.map((document) => document.id);
    } }) });
    const answer = `\`\`\`ts\n${broken.code}\`\`\``;
    const feedback = repairFeedback({ ok: false, diagnostics }, { code: broken.code, language: 'typescript', codeFile: 'answer.ts' });
    const prompt: LanguageModelMessage[] = buildChatPrompt({ instruction: 'Fix the code.', repair: { answer, feedback } });
    const reached = async (marked: boolean): Promise<boolean> => {
      received = '';
      await generateText({ model, prompt, ...(marked ? { providerOptions: repairProviderOptions(undefined, { diagnostics, code: broken.code }) } : {}) });
      return [broken.api, ...(broken.alternatives ?? [])].some((api) => {
        const block = received.split(`[@types/node:${api}]\n`)[1]?.split('\n\n')[0] ?? '';
        // The signature: the member called, or a generic one's type parameters (`getRandomValues<T …>(`).
        return new RegExp(`\\b${api.split('.').pop()!}\\s*[<(]`).test(block);
      });
    };
    const reachedMarked = await reached(true);
    const reachedFromText = await reached(false);
    outcomes.push({ kind: broken.kind, api: broken.api, diagnostics: diagnostics.map((diagnostic) => diagnostic.code), queries, inserted, reachedMarked, reachedFromText });
  }
  return {
    tasks: tasks.length,
    before,
    after,
    minimumRelevance,
    repair: {
      answers: outcomes.length,
      reachedMarked: outcomes.filter((outcome) => outcome.reachedMarked).length,
      reachedFromText: outcomes.filter((outcome) => outcome.reachedFromText).length,
      outcomes,
    },
  };
}
