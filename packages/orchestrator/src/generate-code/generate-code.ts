import {
  AbortedError,
  InvalidArgumentError,
  throwIfAborted,
  type LanguageModel,
  type LanguageModelMessage,
  type LanguageModelUsage,
  type RetrievedDocument,
  type Retriever,
  type Tokenizer,
} from '@codestack/core';
import { EventChannel } from './event-channel.js';
import { extractCode } from './extract-code.js';
import { streamText } from '../models/generate-text.js';
import { buildChatPrompt, renderChatPrompt } from '../prompt/chat-template.js';
import type { PromptParts } from '../prompt/prompt-parts.js';
import { compactDocuments, defaultRelevanceThreshold, gateDocuments, type CompactableDocument, type IrrelevantDocument, type OverBudgetDocument } from '../prompt/compact-documents.js';
import { renderDocuments } from '../prompt/render-documents.js';
import { allocatePromptBudget, promptPartsOf, type PromptBudget } from '../prompt/prompt-budget.js';
import { describeValidationFailure, type FailureSources } from './failure-report.js';
import { retrieveRepairDocuments } from './diagnostic-queries.js';
import { recordRepairLookup, repairProviderOptions, type RepairMarker } from '../middleware/diagnostic-retrieval-middleware.js';
import { validateCode, type ValidateCodeOptions, type ValidationReport } from '../validation/validate-code.js';

/** How {@link generateCode} validates each answer. */
export type GenerateCodeValidation = Omit<ValidateCodeOptions, 'code' | 'signal'>;

/** Options of {@link generateCode}. */
export interface GenerateCodeOptions {
  /** What to write, in words. */
  task: string;
  /** The model. */
  model: LanguageModel;
  /**
   * Counts tokens for the prompt budget. Default: the model's own `tokenizer`, which a model of
   * `loadLocalModel` or `loadBundledModel` carries; a remote model needs one.
   */
  tokenizer?: Tokenizer;
  /** Finds reference documents for the task; optional. */
  retriever?: Retriever;
  /** Documents to retrieve. Default 4. */
  retrievalTopK?: number;
  /**
   * Documents whose relevance (a docs-index retriever's, comparable across queries) is under this
   * stay out of the prompt. Default `defaultRelevanceThreshold` (0.9); documents without a
   * relevance are kept.
   */
  minimumRelevance?: number;
  /**
   * Tokens the documents may take: each first as its signatures and summary sentence, then, most
   * relevant first, whole while this allows. Default: a quarter of the prompt's room, at most 1024.
   */
  maximumDocumentTokens?: number;
  /** The user's context (such as the open file). */
  context?: string;
  /** The system prompt. Default `defaultSystemPrompt`. */
  system?: string;
  /** The model's context window in tokens. Default: the model's own `contextTokens` when it reports one, else 8192. */
  contextTokens?: number;
  /**
   * Tokens for each answer. Default: 1024, but at most 3/8 of the context window and at most the
   * model's own `maxOutputTokens` (the bundled model's 256-token window gives 96).
   */
  maxOutputTokens?: number;
  /** Validation of every answer; without it the first answer is final. */
  validation?: GenerateCodeValidation;
  /** Repair rounds after a failed validation. Default 2. */
  maximumRepairRounds?: number;
  /** Sampling temperature. Default 0. */
  temperature?: number;
  /** Sampling seed. */
  seed?: number;
  /** Provider options passed to the model (such as the adapter). */
  providerOptions?: Record<string, Record<string, unknown>>;
  /** Cancels the whole run (the AI SDK's name). */
  abortSignal?: AbortSignal;
}

/** One answer and its validation. */
export interface GenerateCodeAttempt {
  /** 0 for the first answer, then one per repair round. */
  index: number;
  /** The model's whole answer. */
  text: string;
  /** The code extracted from it. */
  code: string;
  /** Its validation, when validation was asked for. */
  validation?: ValidationReport;
  /** Token counts of the call. */
  usage: LanguageModelUsage;
}

/** A document as a `retrieval` event reports it: as it reached the prompt. */
export interface RetrievalEventDocument {
  id: string;
  score: number;
  relevance?: number;
  source?: string;
  /** Tokens of its text as it sits in the prompt. */
  tokens: number;
  /** How it went in: compact (its signatures and summary sentence), whole (with detail and examples), or cut short by the context window. */
  form: 'whole' | 'compact' | 'truncated';
}

/** The events of a run, in order: retrieval?, prompt, then per attempt text-deltas and validation?, repair (and retrieval? for it) between attempts, finish. */
export type GenerateCodeEvent =
  | {
      type: 'retrieval';
      query: string;
      /** What reached the prompt (after the relevance gate, the documents' budget and the context window), most relevant first. */
      documents: RetrievalEventDocument[];
      /** What was left out as irrelevant, and why (relevance vs threshold). */
      irrelevant: IrrelevantDocument[];
      /** Relevant, but left out for tokens: over the documents' budget (`maximumDocumentTokens`) or dropped to fit the context window. */
      overBudget: OverBudgetDocument[];
      /**
       * Tokens of the documents section of the prompt this retrieval feeds (the same as that
       * attempt's `prompt` event's `documentTokens`; a repair round's section also holds the
       * task's documents).
       */
      documentTokens: number;
      /** The repair round this retrieval is for (diagnostics-driven); absent for the task's. */
      attempt?: number;
    }
  | { type: 'prompt'; attempt: number; messages: LanguageModelMessage[]; usedTokens: number; documentTokens: number; dropped: string[]; truncated: string[] }
  | { type: 'text-delta'; attempt: number; delta: string }
  | { type: 'validation'; attempt: number; report: ValidationReport }
  | { type: 'repair'; attempt: number; feedback: string }
  | { type: 'finish'; ok: boolean; attempts: number; code: string };

/** The outcome of {@link generateCode}. */
export interface GenerateCodeResult {
  /** Whether the final code validated (true without validation). */
  ok: boolean;
  /** The final code. */
  code: string;
  /** Every attempt, in order. */
  attempts: GenerateCodeAttempt[];
  /** Documents used in the prompt. */
  documents: RetrievedDocument[];
  /** What the prompt budget dropped. */
  dropped: string[];
  /** Token counts summed over the attempts. */
  usage: LanguageModelUsage;
}

/**
 * The code-generation pipeline: retrieve documents for the task, fit system prompt, documents,
 * context and task into the context window, stream the model's answer, extract and validate the
 * code, and on failure feed the diagnostics back for up to `maximumRepairRounds` repairs.
 * Returns the typed event stream and the final result; `abortSignal` cancels everything (the result
 * rejects with `AbortedError`, and the events end).
 */
export function generateCode(options: GenerateCodeOptions): { events: AsyncIterable<GenerateCodeEvent>; result: Promise<GenerateCodeResult> } {
  if (typeof options.task !== 'string' || options.task.trim() === '') {
    throw new InvalidArgumentError({ argument: 'task', message: 'must be a non-empty string' });
  }
  const rounds = options.maximumRepairRounds ?? 2;
  if (!Number.isInteger(rounds) || rounds < 0) throw new InvalidArgumentError({ argument: 'maximumRepairRounds', message: 'must be an integer ≥ 0' });
  const channel = new EventChannel<GenerateCodeEvent>();
  const result = run(options, rounds, channel).then(
    (value) => {
      channel.close();
      return value;
    },
    (error: unknown) => {
      channel.fail(error);
      throw error;
    },
  );
  // The events carry the failure too; keep an unread result from being an unhandled rejection.
  result.catch(() => undefined);
  return { events: channel, result };
}

async function run(options: GenerateCodeOptions, rounds: number, channel: EventChannel<GenerateCodeEvent>): Promise<GenerateCodeResult> {
  const { abortSignal: signal } = options;
  throwIfAborted(signal, 'generateCode');
  const { contextTokens, maxOutputTokens, tokenizer } = resolveBudget(options);
  let documents: CompactableDocument[] = [];
  /** The task's retrieval, reported once the first prompt is fitted (what reached it). */
  let taskRetrieval: { irrelevant: IrrelevantDocument[]; overBudget: OverBudgetDocument[] } | undefined;
  if (options.retriever) {
    const retrieved = await options.retriever.retrieve(options.task, { topK: options.retrievalTopK ?? 4, signal });
    const gate = gateDocuments(retrieved as CompactableDocument[], options.minimumRelevance ?? defaultRelevanceThreshold);
    const room = contextTokens - maxOutputTokens;
    const compacted = compactDocuments(gate.kept, { tokenizer, maximumTokens: options.maximumDocumentTokens ?? Math.min(1024, Math.floor(room / 4)) });
    documents = compacted.documents;
    taskRetrieval = { irrelevant: gate.dropped, overBudget: compacted.overBudget };
  }
  const measure = promptMeasure(options.model, tokenizer);
  /** Fits the parts (with a repair turn from the second attempt on) so the rendered prompt fits. */
  const fit = (repair?: { answer: string; feedback: string }): PromptBudget =>
    allocatePromptBudget({
      tokenizer,
      contextTokens,
      reservedOutputTokens: maxOutputTokens,
      system: options.system,
      documents,
      context: options.context,
      instruction: options.task,
      ...(repair ? { repair } : {}),
      measure,
    });
  const first = fit();
  let budget = first;
  let documentTokens = documentSectionTokens(budget, tokenizer);
  if (taskRetrieval) {
    channel.push({ type: 'retrieval', query: options.task, ...reachedPrompt(documents, budget, tokenizer), irrelevant: taskRetrieval.irrelevant, overBudget: [...taskRetrieval.overBudget, ...droppedByWindow(documents, budget, tokenizer)], documentTokens });
  }
  const attempts: GenerateCodeAttempt[] = [];
  const usage: LanguageModelUsage = { inputTokens: 0, outputTokens: 0 };
  /** What the repair round fixes, marked on its call for diagnosticRetrievalMiddleware. */
  let repair: RepairMarker | undefined;
  for (let index = 0; ; index += 1) {
    throwIfAborted(signal, 'generateCode');
    const messages = buildChatPrompt(promptPartsOf(budget));
    channel.push({ type: 'prompt', attempt: index, messages: [...messages], usedTokens: budget.usedTokens, documentTokens, dropped: budget.dropped, truncated: budget.truncated });
    const streamed = await streamText({
      model: options.model,
      prompt: messages,
      maxOutputTokens,
      temperature: options.temperature ?? 0,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.providerOptions || repair ? { providerOptions: repairProviderOptions(options.providerOptions, repair) } : {}),
      abortSignal: signal,
    });
    for await (const part of streamed.fullStream) {
      if (part.type === 'text-delta') channel.push({ type: 'text-delta', attempt: index, delta: part.delta });
      else if (part.type === 'error') throw AbortedError.isInstance(part.error) || !signal?.aborted ? part.error : new AbortedError({ operation: 'generateCode', cause: part.error });
    }
    const text = await streamed.text;
    const callUsage = await streamed.usage;
    usage.inputTokens = (usage.inputTokens ?? 0) + (callUsage.inputTokens ?? 0);
    usage.outputTokens = (usage.outputTokens ?? 0) + (callUsage.outputTokens ?? 0);
    const language = options.validation?.language ?? 'typescript';
    const code = extractCode(text, { preferredLanguages: language === 'typescript' ? ['typescript', 'ts', 'tsx'] : ['javascript', 'js'] }).code;
    const attempt: GenerateCodeAttempt = { index, text, code, usage: callUsage };
    attempts.push(attempt);
    if (!options.validation) break;
    attempt.validation = await validateCode({ ...options.validation, code, signal });
    channel.push({ type: 'validation', attempt: index, report: attempt.validation });
    if (attempt.validation.ok || index >= rounds) break;
    const feedback = repairFeedback(attempt.validation, {
      code,
      ...(options.validation.tests === undefined ? {} : { tests: options.validation.tests }),
      language,
      ...(options.validation.codeFile === undefined ? {} : { codeFile: options.validation.codeFile }),
      ...(options.validation.testsFile === undefined ? {} : { testsFile: options.validation.testsFile }),
    });
    channel.push({ type: 'repair', attempt: index + 1, feedback });
    // A misused API named by the type checker: look its real signature up for the repair round
    // (the lookup diagnosticRetrievalMiddleware reuses for the same retriever instead of searching again).
    repair = { diagnostics: attempt.validation.diagnostics, code };
    let fresh: CompactableDocument[] | undefined;
    let repairQuery = '';
    if (options.retriever) {
      const found = await retrieveRepairDocuments({ retriever: options.retriever, diagnostics: attempt.validation.diagnostics, code, ...(signal ? { signal } : {}) });
      recordRepairLookup(repair, options.retriever, found);
      if (found.queries.length > 0) {
        fresh = found.documents.filter((document) => !documents.some((known) => known.id === document.id)).map((document) => ({ ...document, text: document.compact ?? document.text }));
        documents = [...fresh, ...documents];
        repairQuery = found.queries.join(' ');
      }
    }
    // The repair prompt is the first prompt plus the last answer and its feedback, fitted again.
    budget = fit({ answer: text, feedback });
    documentTokens = documentSectionTokens(budget, tokenizer);
    if (fresh) {
      channel.push({ type: 'retrieval', query: repairQuery, attempt: index + 1, ...reachedPrompt(fresh, budget, tokenizer), irrelevant: [], overBudget: droppedByWindow(fresh, budget, tokenizer), documentTokens });
    }
  }
  const last = attempts[attempts.length - 1]!;
  const ok = last.validation?.ok ?? true;
  channel.push({ type: 'finish', ok, attempts: attempts.length, code: last.code });
  return { ok, code: last.code, attempts, documents: first.documents, dropped: first.dropped, usage };
}

/** Tokens of a fitted prompt's documents section, as rendered: the `prompt` event's `documentTokens`. */
function documentSectionTokens(budget: PromptBudget, tokenizer: Tokenizer): number {
  return budget.documents.length === 0 ? 0 : tokenizer.countTokens(renderDocuments(budget.documents, { layout: 'section' }));
}

/** Of `candidates`, those the fitted prompt holds, as a `retrieval` event reports them. */
function reachedPrompt(candidates: readonly CompactableDocument[], budget: PromptBudget, tokenizer: Tokenizer): { documents: RetrievalEventDocument[] } {
  const reached: RetrievalEventDocument[] = [];
  for (const candidate of candidates) {
    const sent = budget.documents.find((document) => document.id === candidate.id);
    if (sent === undefined) continue;
    const { id, score, relevance, source } = candidate;
    const form = budget.truncated.includes(`document:${id}`) ? 'truncated' : sent.text === candidate.compact ? 'compact' : 'whole';
    reached.push({ id, score, ...(relevance === undefined ? {} : { relevance }), ...(source ? { source } : {}), tokens: tokenizer.countTokens(sent.text), form });
  }
  return { documents: reached };
}

/** Of `candidates`, those the prompt budget dropped whole to fit the context window. */
function droppedByWindow(candidates: readonly CompactableDocument[], budget: PromptBudget, tokenizer: Tokenizer): OverBudgetDocument[] {
  return candidates
    .filter((candidate) => budget.dropped.includes(`document:${candidate.id}`))
    .map((candidate) => ({
      id: candidate.id,
      ...(candidate.relevance === undefined ? {} : { relevance: candidate.relevance }),
      tokens: tokenizer.countTokens(candidate.text),
      reason: `dropped to fit the context window (${budget.availableTokens} tokens for the prompt)`,
    }));
}

/**
 * Counts the rendered prompt as the model will receive it: with the model's own
 * `countPromptTokens` (local models: their chat template and tokenizer), else with the chat counting
 * of an OpenAI tokenizer got by model name, else as the local chat template renders it, with `tokenizer`.
 */
function promptMeasure(model: LanguageModel, tokenizer: Tokenizer): (parts: PromptParts) => number {
  if (typeof model.countPromptTokens === 'function') return (parts) => model.countPromptTokens!(buildChatPrompt(parts));
  const openAi = tokenizer as Partial<{ modelName: string; countChatTokens(messages: readonly LanguageModelMessage[]): number }>;
  if (typeof openAi.modelName === 'string' && typeof openAi.countChatTokens === 'function') return (parts) => openAi.countChatTokens!(buildChatPrompt(parts));
  return (parts) => tokenizer.countTokens(renderChatPrompt(buildChatPrompt(parts)));
}

/** What a model may report about itself; `loadLocalModel` models report all of it. */
interface ReportedLimits {
  contextTokens?: unknown;
  maxOutputTokens?: unknown;
  tokenizer?: unknown;
}

const isPositiveInteger = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0;

/** The budget of a run: the options where given, else derived from the model, naming the default in any error. */
function resolveBudget(options: GenerateCodeOptions): { contextTokens: number; maxOutputTokens: number; tokenizer: Tokenizer } {
  const reported = options.model as ReportedLimits;
  const tokenizer = options.tokenizer ?? (typeof (reported.tokenizer as Tokenizer | undefined)?.encode === 'function' ? (reported.tokenizer as Tokenizer) : undefined);
  if (tokenizer === undefined) {
    throw new InvalidArgumentError({ argument: 'tokenizer', message: `is required: model ${options.model.modelId} carries no tokenizer of its own` });
  }
  const contextSource = options.contextTokens !== undefined ? 'contextTokens' : isPositiveInteger(reported.contextTokens) ? `the context window model ${options.model.modelId} reports` : 'the default contextTokens';
  const contextTokens = options.contextTokens ?? (isPositiveInteger(reported.contextTokens) ? reported.contextTokens : 8192);
  if (!isPositiveInteger(contextTokens) || contextTokens < 2) {
    throw new InvalidArgumentError({ argument: 'contextTokens', message: `must be an integer ≥ 2, got ${String(contextTokens)} (from ${contextSource})` });
  }
  if (options.maxOutputTokens !== undefined) {
    if (!isPositiveInteger(options.maxOutputTokens) || options.maxOutputTokens >= contextTokens) {
      throw new InvalidArgumentError({
        argument: 'maxOutputTokens',
        message: `must be an integer in [1, ${contextTokens - 1}] (the context window is ${contextTokens} tokens, from ${contextSource}), got ${String(options.maxOutputTokens)}`,
      });
    }
    return { contextTokens, maxOutputTokens: options.maxOutputTokens, tokenizer };
  }
  const modelLimit = isPositiveInteger(reported.maxOutputTokens) ? reported.maxOutputTokens : Number.POSITIVE_INFINITY;
  const maxOutputTokens = Math.max(1, Math.min(1024, modelLimit, Math.floor((contextTokens * 3) / 8)));
  return { contextTokens, maxOutputTokens, tokenizer };
}

/**
 * The message that asks the model to repair a failed answer. With `sources` (the code and tests
 * validated, and their file names) it names the failing test line of the user's tests, the code
 * line it reached, expected and actual values, and each diagnostic's source line, with sandbox
 * paths and Node internals left out.
 */
export function repairFeedback(report: ValidationReport, sources?: FailureSources): string {
  return ['Your code did not pass validation.', ...describeValidationFailure(report, sources), 'Fix the code and answer with the complete corrected code in one fenced block.'].join('\n\n');
}
