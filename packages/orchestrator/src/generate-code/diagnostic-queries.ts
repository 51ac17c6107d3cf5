import type { CodeDiagnostic } from '../validation/type-check/type-check.js';

/**
 * Queries for the APIs a type check says were misused: from `Property 'readFileSyncc' does not
 * exist on type 'typeof import("fs")'. Did you mean 'readFileSync'?` the query `fs.readFileSync`
 * (the suggestion when there is one, else the member), on the module or type named.
 */
export function diagnosticQueries(diagnostics: readonly CodeDiagnostic[]): string[] {
  const queries = new Set<string>();
  for (const { message } of diagnostics) {
    const member = /Property '([\w$]+)' does not exist on type '([^']+)'(?:\. Did you mean '([\w$]+)'\?)?/.exec(message);
    if (member) {
      const owner = /typeof import\("(?:node:)?([\w/]+)"\)/.exec(member[2]!)?.[1] ?? member[2]!.replace(/^typeof /, '').replace(/<.*$/, '');
      queries.add(`${owner.replace(/\//g, '.')}.${member[3] ?? member[1]}`);
      continue;
    }
    const exported = /Module '"(?:node:)?([\w/]+)"' has no exported member '([\w$]+)'(?:\. Did you mean '([\w$]+)'\?)?/.exec(message);
    if (exported) queries.add(`${exported[1]!.replace(/\//g, '.')}.${exported[3] ?? exported[2]}`);
  }
  return [...queries].slice(0, 4);
}
