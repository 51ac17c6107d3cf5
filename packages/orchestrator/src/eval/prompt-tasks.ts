/**
 * A task set for the prompt itself: tasks that need a Node API (with the `@types/node` entries
 * that answer them) and tasks that need none. Every other task (even index) is validation, the
 * rest test: `sweepRelevanceThreshold` chooses the prompt's relevance threshold on validation only
 * and reports test.
 */
export interface PromptTask {
  /** The task as a user would write it. */
  task: string;
  /** `@types/node` entry names that answer it; empty when the task needs no API. */
  apis: string[];
}

/** Tasks that need an API of Node. */
export const apiTasks: readonly PromptTask[] = [
  { task: 'Write a TypeScript function readConfig(path: string): string that reads a whole text file synchronously and returns its contents.', apis: ['fs.readFileSync'] },
  { task: 'Write a TypeScript function sha256(text: string): string that returns the SHA-256 hex digest of a string.', apis: ['crypto.createHash', 'crypto.Hash.digest', 'crypto.Hash.update'] },
  { task: 'Write a TypeScript function joinSegments(...parts: string[]): string that joins path segments into one normalized path.', apis: ['path.join', 'path.PlatformPath.join'] },
  { task: 'Write a TypeScript function compress(data: Buffer): Buffer that compresses a buffer with gzip synchronously.', apis: ['zlib.gzipSync'] },
  { task: 'Write a TypeScript function listFiles(): ChildProcess that spawns a child process running ls -la.', apis: ['child_process.spawn'] },
  { task: 'Write a TypeScript function cpuCount(): number that returns the number of logical CPU cores of the machine.', apis: ['os.cpus', 'os.availableParallelism'] },
  { task: 'Write a TypeScript function parseQuery(query: string) that parses a URL query string into an object with the querystring module.', apis: ['querystring.parse'] },
  { task: 'Write a TypeScript function fileExists(path: string): boolean that checks synchronously whether a file exists.', apis: ['fs.existsSync'] },
  { task: 'Write a TypeScript function saveText(path: string, text: string): void that writes a string to a file synchronously.', apis: ['fs.writeFileSync'] },
  { task: 'Write a TypeScript function newId(): string that generates a random UUID with the crypto module.', apis: ['crypto.randomUUID'] },
  { task: 'Write a TypeScript function extensionOf(path: string): string that returns the file extension of a path.', apis: ['path.extname', 'path.PlatformPath.extname'] },
  { task: 'Write a TypeScript function startServer(port: number) that creates an HTTP server answering every request with hello.', apis: ['http.createServer'] },
  { task: 'Write a TypeScript function listDirectory(path: string): string[] that reads the names of the entries of a directory synchronously.', apis: ['fs.readdirSync'] },
  { task: 'Write a TypeScript function homeDirectory(): string that returns the home directory of the current user.', apis: ['os.homedir'] },
  { task: 'Write a TypeScript function absolutePath(path: string): string that resolves a relative path to an absolute path.', apis: ['path.resolve', 'path.PlatformPath.resolve'] },
  { task: 'Write a TypeScript function token(size: number): string that generates cryptographically strong random bytes as hex.', apis: ['crypto.randomBytes'] },
  { task: 'Write a TypeScript function readFileAsync(path: string) that promisifies the callback-style fs.readFile with util.', apis: ['util.promisify'] },
  { task: 'Write a TypeScript function safeCompare(a: Buffer, b: Buffer): boolean that compares two buffers in constant time to avoid timing attacks.', apis: ['crypto.timingSafeEqual'] },
  { task: 'Write a TypeScript function decompress(data: Buffer): Buffer that decompresses gzip data synchronously.', apis: ['zlib.gunzipSync'] },
  { task: 'Write a TypeScript function ensureDirectory(path: string): void that creates a directory and its parents synchronously.', apis: ['fs.mkdirSync'] },
];

/** Tasks that need no API: plain logic. */
export const plainTasks: readonly PromptTask[] = [
  { task: 'Write a TypeScript function wordCount(text: string): number that counts the words in a text.', apis: [] },
  { task: 'Write a TypeScript function reverse(text: string): string that reverses a string.', apis: [] },
  { task: 'Write a TypeScript function fibonacci(n: number): number that returns the nth Fibonacci number.', apis: [] },
  { task: 'Write a TypeScript function isPalindrome(text: string): boolean that checks whether a word reads the same backwards.', apis: [] },
  { task: 'Write a TypeScript function clamp(value: number, low: number, high: number): number that limits a number to a range.', apis: [] },
  { task: 'Write a TypeScript function sum(values: number[]): number that adds up the numbers of an array.', apis: [] },
  { task: 'Write a TypeScript function flatten(values: unknown[]): unknown[] that flattens nested arrays into one array.', apis: [] },
  { task: 'Write a TypeScript function titleCase(text: string): string that capitalizes the first letter of each word.', apis: [] },
  { task: 'Write a TypeScript function chunk<T>(values: T[], size: number): T[][] that splits an array into groups of a given size.', apis: [] },
  { task: 'Write a TypeScript function unique<T>(values: T[]): T[] that removes duplicate values from an array, keeping the first.', apis: [] },
  { task: 'Write a TypeScript function gcd(a: number, b: number): number that returns the greatest common divisor of two integers.', apis: [] },
  { task: 'Write a TypeScript function isPrime(n: number): boolean that checks whether a number is prime.', apis: [] },
  { task: 'Write a TypeScript function binarySearch(sorted: number[], target: number): number that returns the index of a value in a sorted array or -1.', apis: [] },
  { task: 'Write a TypeScript function countVowels(text: string): number that counts the vowels in a string.', apis: [] },
  { task: 'Write a TypeScript function maximum(values: number[]): number that returns the largest number of an array.', apis: [] },
  { task: 'Write a TypeScript function toSnakeCase(name: string): string that converts camelCase to snake_case.', apis: [] },
  { task: 'Write a TypeScript function factorial(n: number): number that returns n factorial.', apis: [] },
  { task: 'Write a TypeScript function mergeSorted(a: number[], b: number[]): number[] that merges two sorted arrays into one sorted array.', apis: [] },
  { task: 'Write a TypeScript function toRoman(n: number): string that converts an integer to Roman numerals.', apis: [] },
  { task: 'Write a TypeScript function transpose(matrix: number[][]): number[][] that transposes a matrix.', apis: [] },
];

/** Validation (even indices) and test (odd indices) halves of both sets: 10 API and 10 plain tasks each. */
export function splitPromptTasks(): { validation: PromptTask[]; test: PromptTask[] } {
  const half = (parity: number): PromptTask[] => [...apiTasks.filter((_, index) => index % 2 === parity), ...plainTasks.filter((_, index) => index % 2 === parity)];
  return { validation: half(0), test: half(1) };
}
