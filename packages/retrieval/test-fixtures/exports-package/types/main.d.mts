/** Says hello. */
export declare function greet(name: string): string;
/** Re-exported from a dependency: its members are indexed under this package's name. */
export { RateLimiter } from 'sample-package';
