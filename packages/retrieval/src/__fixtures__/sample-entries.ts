import type { DocEntry } from '../doc-entry.js';

/** A small hand-written docstore for index tests: real shapes, few entries. */
export function sampleEntries(): DocEntry[] {
  const entry = (name: string, kind: DocEntry['kind'], summary: string, extra: Partial<DocEntry> = {}): DocEntry => ({
    id: `${extra.package ?? 'demo'}:${name}`,
    name,
    aliases: [],
    kind,
    signatures: [`${name.split('.').pop() ?? name}(): void`],
    summary,
    documentation: summary,
    parameters: [],
    examples: [],
    package: 'demo',
    packageVersion: '1.0.0',
    sourceFile: 'index.d.ts',
    line: 1,
    ...extra,
  });
  return [
    entry('files.readText', 'function', 'Reads a whole file as text.'),
    entry('files.readTextSync', 'function', 'Reads a whole file as text, synchronously.'),
    entry('files.readLegacy', 'function', 'Reads a file the old way.', { deprecated: 'Use readText.' }),
    entry('files.writeText', 'function', 'Writes text to a file, replacing it.'),
    entry('net.startServer', 'function', 'Starts a server listening on a port.', { package: 'other' }),
    entry('net.ServerOptions', 'interface', 'Options of a server.', { package: 'other' }),
    entry('hash.sha256', 'function', 'Computes the SHA-256 digest of bytes.'),
  ];
}
