/** A document found by a {@link Retriever}. */
export interface RetrievedDocument {
  /** A stable id, such as a chunk id `docs/guide.md#3`. */
  id: string;
  /** The text to put into a prompt. */
  text: string;
  /** The relevance score; higher is more relevant. */
  score: number;
  /** Where it came from (a file path or URL), when known. */
  source?: string;
}

/** Options of {@link Retriever.retrieve}. */
export interface RetrieveOptions {
  /** The most documents to return. */
  topK: number;
  /** Cancels the search. */
  signal?: AbortSignal;
}

/**
 * Finds documents relevant to a query. `@codestack/retrieval` implements it over its hybrid
 * index; the orchestrator's pipeline and middleware take one as an injected dependency.
 */
export interface Retriever {
  /** The documents most relevant to `query`, best first, at most `options.topK`. */
  retrieve(query: string, options: RetrieveOptions): Promise<RetrievedDocument[]>;
}
