import { describe, expect, it } from 'vitest';
import { diagnosticQueries } from './diagnostic-queries.js';

describe('diagnosticQueries', () => {
  it('queries the real member of the module a diagnostic names', () => {
    expect(diagnosticQueries([{ code: 2551, category: 'error', message: `Property 'readFileSyncc' does not exist on type 'typeof import("fs")'. Did you mean 'readFileSync'?` }])).toEqual(['fs.readFileSync']);
    expect(diagnosticQueries([{ code: 2339, category: 'error', message: `Property 'frob' does not exist on type 'typeof import("node:fs/promises")'.` }])).toEqual(['fs.promises.frob']);
    expect(diagnosticQueries([{ code: 2724, category: 'error', message: `Module '"node:zlib"' has no exported member 'gunzipSinc'. Did you mean 'gunzipSync'?` }])).toEqual(['zlib.gunzipSync']);
    expect(diagnosticQueries([{ code: 2322, category: 'error', message: `Type 'string' is not assignable to type 'number'.` }])).toEqual([]);
  });
});
