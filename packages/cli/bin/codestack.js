#!/usr/bin/env node
// The `codestack` bin. It is a committed file, not the build output, so that npm can link it when
// it installs the workspace (before `dist/` exists); it runs the built CLI in `dist/cli.js`.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'codestack: @codestack/cli is not built yet (dist/cli.js is missing). In the codestack repository, run `npm start` or `npm run build` first.\n',
  );
  process.exit(1);
}
await import(cli.href);
