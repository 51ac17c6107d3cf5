import { describe, expect, it } from 'vitest';
import { diagnosticQueries, pickNamedDocument } from './diagnostic-queries.js';

describe('diagnosticQueries', () => {
  it('queries the real member of the module a diagnostic names', () => {
    expect(diagnosticQueries([{ code: 2551, category: 'error', message: `Property 'readFileSyncc' does not exist on type 'typeof import("fs")'. Did you mean 'readFileSync'?` }])).toEqual(['fs.readFileSync']);
    expect(diagnosticQueries([{ code: 2339, category: 'error', message: `Property 'frob' does not exist on type 'typeof import("node:fs/promises")'.` }])).toEqual(['fs.promises.frob', 'frob']);
    expect(diagnosticQueries([{ code: 2724, category: 'error', message: `Module '"node:zlib"' has no exported member 'gunzipSinc'. Did you mean 'gunzipSync'?` }])).toEqual(['zlib.gunzipSync']);
    expect(diagnosticQueries([{ code: 2322, category: 'error', message: `Type 'string' is not assignable to type 'number'.` }])).toEqual([]);
  });

  it('reads the module from the code: a member of an imported object, a call with the wrong arguments, a named import', () => {
    const code = "import path from 'node:path';\nimport { randomBytes as bytes } from 'node:crypto';\nimport * as fs from 'fs';\npath.joinn('a');\nbytes();\nfs.writeFileSync(String(1), 'x', 'utf8', 1);\n";
    expect(diagnosticQueries([{ code: 2551, category: 'error', message: `Property 'joinn' does not exist on type 'PlatformPath'. Did you mean 'join'?`, line: 4, column: 6 }], code)).toEqual(['path.join']);
    expect(diagnosticQueries([{ code: 2554, category: 'error', message: 'Expected 1-2 arguments, but got 0.', line: 5, column: 1 }], code)).toEqual(['crypto.randomBytes']);
    expect(diagnosticQueries([{ code: 2554, category: 'error', message: 'Expected 2-3 arguments, but got 4.', line: 6, column: 42 }], code)).toEqual(['fs.writeFileSync']);
    expect(diagnosticQueries([{ code: 2724, category: 'error', message: `'"node:zlib"' has no exported member named 'gunzipSinc'. Did you mean 'gunzipSync'?` }])).toEqual(['zlib.gunzipSync']);
  });
});

describe('pickNamedDocument', () => {
  const hit = (name?: string) => ({ id: `@types/node:${name ?? 'unnamed'}`, text: '', score: 1, ...(name === undefined ? {} : { name }) });
  it('takes the entry the query names over a better-ranked neighbour', () => {
    expect(pickNamedDocument('crypto.randomUUID', [hit('crypto.webcrypto.randomUUID'), hit('crypto.randomUUID')])?.name).toBe('crypto.randomUUID');
    // A member asked of the wrong module: the same last segment, fewest segments (the module-level export) first.
    expect(pickNamedDocument('util.randomUUID', [hit('crypto.webcrypto.randomUUID'), hit('crypto.RandomUUIDOptions'), hit('crypto.randomUUID')])?.name).toBe('crypto.randomUUID');
    expect(pickNamedDocument('randomUUID', [hit('crypto.webcrypto.randomUUID'), hit('crypto.randomUUID')])?.name).toBe('crypto.randomUUID');
    // A qualified query that names a member of a class: the entry ending with it.
    expect(pickNamedDocument('Hash.digest', [hit('crypto.webcrypto.SubtleCrypto.digest'), hit('crypto.Hmac.digest'), hit('crypto.Hash.digest')])?.name).toBe('crypto.Hash.digest');
  });

  it('falls back to rank order: nothing named so, or documents without names', () => {
    expect(pickNamedDocument('fs.frob', [hit('fs.readFileSync'), hit('fs.readSync')])?.name).toBe('fs.readFileSync');
    expect(pickNamedDocument('fs.readFileSync', [hit(), hit('fs.readFileSync')])?.name).toBe('fs.readFileSync');
    expect(pickNamedDocument('fs.readFileSync', [hit(), hit()])?.id).toBe('@types/node:unnamed');
    expect(pickNamedDocument('fs.readFileSync', [])).toBeUndefined();
  });
});
