/** Package version, replaced as the package's API lands. */
export const packageName = '@codestack/retrieval';
