const stopWords = new Set(
  'a an and are as at be by for from how i in into is it its me my of on or that the this to use using want was with without what when which do does can get'.split(
    ' ',
  ),
);

/**
 * Common programming abbreviations and compounds, and the words they stand for. An identifier part
 * that matches also yields these words, so "make a directory" meets `mkdir` and "environment
 * variable" meets `env`.
 */
const abbreviations = new Map<string, string[]>(
  Object.entries({
  arg: 'argument',
  args: 'arguments',
  argv: 'arguments command line',
  async: 'asynchronous',
  buf: 'buffer',
  cb: 'callback',
  cfg: 'configuration',
  chdir: 'change directory',
  chmod: 'change mode permissions',
  chown: 'change owner',
  cpu: 'processor',
  cpus: 'processor cores',
  ctx: 'context',
  cwd: 'current working directory',
  dest: 'destination',
  dir: 'directory',
  dirname: 'directory name',
  env: 'environment variables',
  eol: 'end line',
  err: 'error',
  errno: 'error number',
  exec: 'execute',
  ext: 'extension',
  extname: 'extension name',
  fd: 'file descriptor',
  fn: 'function',
  fs: 'file system',
  gunzip: 'decompress gzip',
  hmac: 'hash message authentication code',
  homedir: 'home directory',
  hrtime: 'high resolution time',
  id: 'identifier',
  init: 'initialize',
  len: 'length',
  ln: 'link',
  mkdir: 'make directory',
  mkdtemp: 'make temporary directory',
  ms: 'milliseconds',
  msg: 'message',
  opts: 'options',
  os: 'operating system',
  pid: 'process identifier',
  ppid: 'parent process identifier',
  readdir: 'read directory list',
  realpath: 'real path',
  req: 'request',
  res: 'response',
  rm: 'remove delete',
  rmdir: 'remove directory',
  src: 'source',
  stderr: 'standard error',
  stdin: 'standard input',
  stdout: 'standard output',
  str: 'string',
  symlink: 'symbolic link',
  sync: 'synchronous',
  tmp: 'temporary',
  tmpdir: 'temporary directory',
  unlink: 'delete remove',
  url: 'address',
  util: 'utilities',
  uuid: 'unique identifier',
  }).map(([abbreviation, words]) => [abbreviation, words.split(' ')]),
);

/**
 * Splits text into lowercase word tokens the way code is written: `readFileSync` gives
 * `read`, `file`, `sync`; `snake_case` and `dotted.names` split on their separators; every
 * identifier longer than one part also yields itself whole (`readfilesync`). Common English
 * stop words are dropped and light suffix stemming is applied so `reading`, `reads` and
 * `read` meet.
 */
export function identifierTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const word of text.match(/[A-Za-z0-9_$]+/g) ?? []) {
    const parts = splitIdentifier(word);
    if (parts.length > 1) tokens.push(word.toLowerCase().replace(/[_$]/g, ''));
    for (const part of parts) {
      if (stopWords.has(part)) continue;
      tokens.push(stem(part));
      for (const word of abbreviations.get(part) ?? []) tokens.push(stem(word));
    }
  }
  return tokens;
}

/** Splits one identifier on camelCase humps, digits, `_` and `$`, in lowercase. */
export function splitIdentifier(identifier: string): string[] {
  return (
    identifier
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
      .toLowerCase()
      .match(/[a-z]+|[0-9]+/g) ?? []
  );
}

/**
 * A light English suffix stemmer: enough to join plural, -ing and -ed forms of API words
 * (`reads`, `reading`, `read`; `creates`, `created`, `create`). A final `e` is dropped so that
 * `write` and `writing` meet.
 */
export function stem(word: string): string {
  let result = word;
  if (result.length > 4 && result.endsWith('ies')) result = `${result.slice(0, -3)}y`;
  else if (result.length > 5 && result.endsWith('ing')) result = trimDouble(result.slice(0, -3));
  else if (result.length > 4 && result.endsWith('ed')) result = trimDouble(result.slice(0, -2));
  else if (/(ss|sh|ch|x)es$/.test(result)) result = result.slice(0, -2);
  else if (result.length > 3 && result.endsWith('s') && !/(ss|us|is)$/.test(result)) result = result.slice(0, -1);
  if (result.length >= 4 && result.endsWith('e')) result = result.slice(0, -1);
  return result;
}

function trimDouble(word: string): string {
  return /([^aeiouls])\1$/.test(word) ? word.slice(0, -1) : word;
}
