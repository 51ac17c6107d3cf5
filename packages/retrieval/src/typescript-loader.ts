import { relative } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type ts from 'typescript';
import { createProgressReporter, throwIfAborted, type ProgressReporter } from '@codestack/core';
import type { DocEntry, DocEntryKind, DocParameter } from './doc-entry.js';
import { resolvePackageTypes, type ResolvedPackageTypes } from './resolve-package-types.js';

/** Options of {@link loadTypeScriptDocs}. */
export interface LoadTypeScriptDocsOptions {
  /** The directory to resolve package names from. Defaults to `process.cwd()`. */
  from?: string;
  /** Cancels the walk. */
  signal?: AbortSignal;
  /** Also index global values (`process`, `Buffer`, `setTimeout`) the package declares. Defaults to `true`. */
  includeGlobals?: boolean;
  /** Progress as JSON lines instead of a bar. */
  json?: boolean;
  /** No progress output. Defaults to `true` unless `progressStream` or `json` is given. */
  silent?: boolean;
  /** Where progress (entries named so far) goes. Defaults to `process.stderr`. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The TypeScript compiler, loaded on first use so importing this package stays cheap. */
let typescript: typeof ts;

const maximumSignatureLength = 800;
const maximumDepth = 5;

/**
 * Walks every public export of a package's TypeScript declarations with the TypeScript
 * compiler API and returns one {@link DocEntry} per API: functions, classes and their members,
 * interfaces and their members, enums, variables, type aliases, namespaces and re-exports.
 * Ambient modules such as `declare module "fs"` are named by their module name (`fs.readFile`),
 * `node:` twins are indexed once and recorded as aliases, and subpath modules use dots
 * (`fs/promises` gives `fs.promises.readFile`).
 *
 * @param packageNameOrPath An installed package name, or a path to a package or `.d.ts` file.
 */
export async function loadTypeScriptDocs(
  packageNameOrPath: string,
  options: LoadTypeScriptDocsOptions = {},
): Promise<DocEntry[]> {
  const resolved = resolvePackageTypes(packageNameOrPath, options.from === undefined ? {} : { from: options.from });
  throwIfAborted(options.signal, 'loadTypeScriptDocs');
  typescript ??= (await import('typescript')).default;
  const program = typescript.createProgram({
    rootNames: [resolved.typesEntry],
    options: {
      noEmit: true,
      skipLibCheck: true,
      types: [],
      target: typescript.ScriptTarget.ES2022,
      module: typescript.ModuleKind.NodeNext,
      moduleResolution: typescript.ModuleResolutionKind.NodeNext,
    },
  });
  const walker = new DeclarationWalker(program, resolved);
  const rootFile = program.getSourceFile(resolved.typesEntry);
  const rootSymbol = rootFile === undefined ? undefined : walker.checker.getSymbolAtLocation(rootFile);
  if (rootSymbol !== undefined) walker.walkModule(rootSymbol, shortPackageName(resolved.packageName), []);
  const ambient = walker.checker
    .getAmbientModules()
    .filter((symbol) => symbol.declarations?.some((declaration) => walker.isInPackage(declaration)))
    .sort((left, right) => stripNodePrefix(left.name).localeCompare(stripNodePrefix(right.name)) || left.name.length - right.name.length);
  let walked = 0;
  for (const moduleSymbol of ambient) {
    const moduleName = unquote(moduleSymbol.name);
    const plain = stripNodePrefix(moduleName);
    const aliases = moduleName === plain ? [`node:${plain}`] : [moduleName];
    walker.walkModule(moduleSymbol, plain.replace(/\//g, '.'), aliases.filter((alias) => alias !== plain));
    if (++walked % 8 === 0) {
      await yieldToEventLoop();
      throwIfAborted(options.signal, 'loadTypeScriptDocs');
    }
  }
  if (options.includeGlobals !== false && rootFile !== undefined) walker.walkGlobals(rootFile);
  const reporter = createProgressReporter({
    label: `load ${resolved.packageName}`,
    json: options.json ?? false,
    silent: options.silent ?? (options.progressStream === undefined && options.json !== true),
    ...(options.progressStream === undefined ? {} : { stream: options.progressStream }),
  });
  await walker.run(reporter, options.signal);
  reporter.finish({ entries: walker.entries.length });
  throwIfAborted(options.signal, 'loadTypeScriptDocs');
  return walker.entries;
}

function shortPackageName(name: string): string {
  return name.startsWith('@types/') ? name.slice('@types/'.length).replace(/^(.*)__/, '@$1/') : name;
}

function unquote(name: string): string {
  return name.replace(/^"(.*)"$/, '$1');
}

function stripNodePrefix(name: string): string {
  return unquote(name).replace(/^node:/, '');
}

/** One name to give a symbol, processed breadth first so the shortest names claim symbols. */
interface WalkTask {
  symbol: ts.Symbol;
  name: string;
  aliases: string[];
  depth: number;
  /** A class or interface member (not an export). */
  member: boolean;
  /** Inherited from a base type; named after own members of the same depth. */
  inherited: boolean;
  /** The name of the type that owns this member, for choosing the canonical owner of inherited members. */
  owner?: string;
}

class DeclarationWalker {
  readonly checker: ts.TypeChecker;
  readonly entries: DocEntry[] = [];
  private readonly byName = new Map<string, DocEntry>();
  private readonly walkedModules = new Set<ts.Symbol>();
  private readonly bySymbol = new Map<ts.Symbol, DocEntry>();
  private readonly levels: { own: WalkTask[]; inherited: WalkTask[] }[] = [];
  private readonly aliasedPrefixes: { prefix: string; aliases: string[] }[] = [];

  constructor(
    private readonly program: ts.Program,
    private readonly resolved: ResolvedPackageTypes,
  ) {
    this.checker = program.getTypeChecker();
  }

  /**
   * Whether a member declared at `node` belongs in the index: anything but the compiler's default
   * library, so members a package inherits from or re-exports out of its dependencies are kept
   * while `Object`'s and `Array`'s are not.
   */
  isDocumented(node: ts.Node): boolean {
    return !this.program.isSourceFileDefaultLibrary(node.getSourceFile());
  }

  isInPackage(node: ts.Node): boolean {
    const fileName = node.getSourceFile().fileName;
    return !relative(this.resolved.packageRoot, fileName).startsWith('..');
  }

  walkModule(moduleSymbol: ts.Symbol, prefix: string, aliases: string[]): void {
    const existing = this.byName.get(prefix);
    if (existing !== undefined) {
      addAliases(existing, aliases);
      this.aliasedPrefixes.push({ prefix, aliases });
      if (this.walkedModules.has(moduleSymbol)) return;
    } else {
      this.emit(moduleSymbol, prefix, 'module', aliases, [`module "${prefix.replace(/\./g, '/')}"`]);
    }
    this.walkedModules.add(moduleSymbol);
    for (const exported of this.exportsOf(moduleSymbol)) {
      this.enqueue({ symbol: exported, name: `${prefix}.${exported.name}`, aliases: aliasNames(aliases, exported.name), depth: 1, member: false, inherited: false });
    }
  }

  walkGlobals(rootFile: ts.SourceFile): void {
    const flags = typescript.SymbolFlags.Variable | typescript.SymbolFlags.Function | typescript.SymbolFlags.Class;
    for (const symbol of this.checker.getSymbolsInScope(rootFile, flags)) {
      if (!symbol.declarations?.some((declaration) => this.isInPackage(declaration))) continue;
      if (!symbol.declarations.some((declaration) => isGlobalDeclaration(declaration))) continue;
      this.enqueue({ symbol, name: symbol.name, aliases: [], depth: 1, member: false, inherited: false });
    }
  }

  /** Walks everything enqueued, level by level, then spreads module aliases to nested entries. */
  async run(reporter: ProgressReporter, signal: AbortSignal | undefined): Promise<void> {
    let processed = 0;
    const step = async (task: WalkTask): Promise<void> => {
      this.process(task);
      if (++processed % 1000 === 0) {
        reporter.update({ completed: this.entries.length });
        await yieldToEventLoop();
        throwIfAborted(signal, 'loadTypeScriptDocs');
      }
    };
    for (let depth = 0; depth < this.levels.length && depth <= maximumDepth; depth++) {
      const level = this.levels[depth];
      if (level === undefined) continue;
      for (const task of level.own) await step(task);
      // An inherited member is named after the type that declares it when that type is walked
      // at this depth (`events.EventEmitter.on`, not `child_process.ChildProcess.on`).
      const ranked = level.inherited.map((task, order) => ({ task, order, rank: this.ownerRank(task) }));
      ranked.sort((left, right) => left.rank - right.rank || left.order - right.order);
      for (const { task } of ranked) await step(task);
    }
    for (const { prefix, aliases } of this.aliasedPrefixes) {
      for (const entry of this.entries) {
        if (entry.name.startsWith(`${prefix}.`)) addAliases(entry, aliasNames(aliases, entry.name.slice(prefix.length + 1)));
      }
    }
  }

  private enqueue(task: WalkTask): void {
    if (task.depth > maximumDepth) return;
    const level = (this.levels[task.depth] ??= { own: [], inherited: [] });
    (task.inherited ? level.inherited : level.own).push(task);
  }

  private ownerRank(task: WalkTask): number {
    const parent = task.symbol.declarations?.[0]?.parent;
    const declaringName = parent !== undefined && (typescript.isClassDeclaration(parent) || typescript.isInterfaceDeclaration(parent)) ? parent.name?.text : undefined;
    return declaringName !== undefined && task.owner === declaringName ? 0 : 1;
  }

  private exportsOf(symbol: ts.Symbol): ts.Symbol[] {
    try {
      const exported = new Map<string, ts.Symbol>();
      // `export = value` (as in `declare module "path"`): the value's properties are the module's
      // API and come first, so they claim the short names (`path.join`).
      const exportEquals = symbol.exports?.get(typescript.InternalSymbolName.ExportEquals);
      const target = exportEquals === undefined ? undefined : exportEquals.flags & typescript.SymbolFlags.Alias ? this.safeAliased(exportEquals) : exportEquals;
      if (target !== undefined && target.flags & typescript.SymbolFlags.Variable && target.valueDeclaration !== undefined) {
        const type = this.checker.getTypeOfSymbolAtLocation(target, target.valueDeclaration);
        for (const property of type.getProperties()) exported.set(property.name, property);
      }
      for (const item of this.checker.getExportsOfModule(symbol)) if (!exported.has(item.name)) exported.set(item.name, item);
      return [...exported.values()].filter((item) => !isPrivateName(item.name));
    } catch {
      return [];
    }
  }

  private process(task: WalkTask): void {
    if (task.member) this.walkMember(task);
    else this.walkSymbol(task);
  }

  private walkSymbol({ symbol: original, name, aliases, depth }: WalkTask): void {
    const symbol = original.flags & typescript.SymbolFlags.Alias ? this.safeAliased(original) : original;
    if (symbol === undefined || this.byName.has(name)) return;
    const known = this.bySymbol.get(symbol);
    if (known !== undefined) {
      addAliases(known, [name, ...aliases]);
      // A shallow second name (the global `Buffer` for `buffer.Buffer`) also names the members.
      if (depth <= 2 && known.name !== name) this.aliasedPrefixes.push({ prefix: known.name, aliases: [name, ...aliases] });
      return;
    }
    const declarations = symbol.declarations ?? [];
    if (declarations.length === 0) return;
    const flags = symbol.flags;
    const child = (item: ts.Symbol, childName: string, member: boolean, inherited = false): void =>
      this.enqueue({ symbol: item, name: `${name}.${childName}`, aliases: aliasNames(aliases, childName), depth: depth + 1, member, inherited, owner: original.name });
    if (flags & typescript.SymbolFlags.Module && declarations.every((declaration) => isExternalModuleDeclaration(declaration))) {
      this.emit(symbol, name, 'namespace', aliases, [`import * as ${original.name} from "${this.moduleText(symbol)}"`]);
      if (!this.walkedModules.has(symbol)) for (const exported of this.exportsOf(symbol)) child(exported, exported.name, false);
      return;
    }
    const kind = this.kindOf(symbol);
    if (kind === undefined) return;
    this.emit(symbol, name, kind, aliases, this.signaturesOf(symbol, kind));
    if (flags & (typescript.SymbolFlags.Class | typescript.SymbolFlags.Interface)) {
      const own = new Set([...(symbol.members?.values() ?? []), ...(flags & typescript.SymbolFlags.Class ? (symbol.exports?.values() ?? []) : [])]);
      for (const member of this.membersOf(symbol)) child(member, memberName(member), true, !own.has(member));
    }
    if (flags & typescript.SymbolFlags.Enum) {
      for (const member of this.exportsOf(symbol)) child(member, member.name, true);
    }
    if (flags & typescript.SymbolFlags.Variable && !(flags & typescript.SymbolFlags.Class)) {
      // A value's properties come from its type, declared elsewhere: they rank like inherited members.
      for (const property of this.variablePropertiesOf(symbol)) child(this.canonical(property), property.name, true, true);
    }
    if (flags & (typescript.SymbolFlags.NamespaceModule | typescript.SymbolFlags.ValueModule)) {
      for (const exported of symbol.exports === undefined ? [] : [...symbol.exports.values()]) {
        if (exported.name === 'prototype' || isPrivateName(exported.name) || exported.name.startsWith('__')) continue;
        child(exported, exported.name, false);
      }
    }
  }

  private walkMember({ symbol: member, name, aliases }: WalkTask): void {
    if (this.byName.has(name)) return;
    const known = this.bySymbol.get(member);
    if (known !== undefined) {
      addAliases(known, [name, ...aliases]);
      return;
    }
    const declarations = member.declarations ?? [];
    if (declarations.length === 0 || !declarations.some((declaration) => this.isDocumented(declaration))) return;
    if (declarations.some((declaration) => isPrivateDeclaration(declaration))) return;
    const kind = this.kindOf(member);
    if (kind === undefined) return;
    this.emit(member, name, kind, aliases, this.signaturesOf(member, kind));
  }

  private safeAliased(symbol: ts.Symbol): ts.Symbol | undefined {
    try {
      return this.checker.getAliasedSymbol(symbol);
    } catch {
      return undefined;
    }
  }

  private moduleText(symbol: ts.Symbol): string {
    const declaration = symbol.declarations?.[0];
    if (declaration !== undefined && typescript.isModuleDeclaration(declaration)) return declaration.name.text;
    return relative(this.resolved.packageRoot, declaration?.getSourceFile().fileName ?? '');
  }

  private membersOf(symbol: ts.Symbol): ts.Symbol[] {
    const members = new Set<ts.Symbol>();
    const add = (item: ts.Symbol): void => {
      if (item.name === 'prototype' || item.name === '__index' || item.name === '__call' || isPrivateName(item.name)) return;
      members.add(this.canonical(item));
    };
    for (const member of symbol.members?.values() ?? []) add(member);
    if (symbol.flags & typescript.SymbolFlags.Class) for (const member of symbol.exports?.values() ?? []) add(member);
    try {
      // Inherited members too, so `http.Server.listen` is found although `net.Server` declares it.
      for (const member of this.checker.getPropertiesOfType(this.checker.getDeclaredTypeOfSymbol(symbol))) add(member);
    } catch {
      // A type the checker cannot resolve contributes only its own members.
    }
    return [...members.values()];
  }

  /** The declaration's own symbol for a checker-instantiated property symbol (generic bases). */
  private canonical(symbol: ts.Symbol): ts.Symbol {
    const name = symbol.declarations?.[0] === undefined ? undefined : typescript.getNameOfDeclaration(symbol.declarations[0]);
    if (name === undefined) return symbol;
    try {
      return this.checker.getSymbolAtLocation(name) ?? symbol;
    } catch {
      return symbol;
    }
  }

  private variablePropertiesOf(symbol: ts.Symbol): ts.Symbol[] {
    const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
    if (declaration === undefined) return [];
    const type = this.checker.getTypeOfSymbolAtLocation(symbol, declaration);
    const typeDeclarations = type.getSymbol()?.declarations ?? [];
    if (typeDeclarations.length > 0 && !typeDeclarations.some((typeDeclaration) => this.isDocumented(typeDeclaration))) return [];
    return type.getProperties().filter((property) => !isPrivateName(property.name));
  }

  private kindOf(symbol: ts.Symbol): DocEntryKind | undefined {
    const flags = symbol.flags;
    if (flags & typescript.SymbolFlags.Class) return 'class';
    if (flags & typescript.SymbolFlags.Enum) return 'enum';
    if (flags & typescript.SymbolFlags.EnumMember) return 'enum-member';
    if (flags & typescript.SymbolFlags.Function) return 'function';
    if (flags & typescript.SymbolFlags.Constructor) return 'constructor';
    if (flags & typescript.SymbolFlags.Method) return 'method';
    if (flags & (typescript.SymbolFlags.Property | typescript.SymbolFlags.GetAccessor | typescript.SymbolFlags.SetAccessor)) {
      const declaration = symbol.declarations?.[0];
      const isFunctionTyped =
        declaration !== undefined &&
        (typescript.isPropertySignature(declaration) || typescript.isPropertyDeclaration(declaration)) &&
        declaration.type !== undefined &&
        (typescript.isFunctionTypeNode(declaration.type) || typescript.isTypeQueryNode(declaration.type));
      return isFunctionTyped ? 'method' : 'property';
    }
    if (flags & typescript.SymbolFlags.Interface) return 'interface';
    if (flags & typescript.SymbolFlags.Variable) return 'variable';
    if (flags & typescript.SymbolFlags.TypeAlias) return 'type';
    if (flags & (typescript.SymbolFlags.NamespaceModule | typescript.SymbolFlags.ValueModule)) return 'namespace';
    return undefined;
  }

  private signaturesOf(symbol: ts.Symbol, kind: DocEntryKind): string[] {
    const signatures: string[] = [];
    for (const declaration of symbol.declarations ?? []) {
      if (!this.isDocumented(declaration)) continue;
      const text = declarationText(declaration, kind);
      if (text !== undefined && !signatures.includes(text)) signatures.push(text);
    }
    return signatures;
  }

  private emit(symbol: ts.Symbol, name: string, kind: DocEntryKind, aliases: string[], signatures: string[]): void {
    if (this.byName.has(name)) return;
    const declaration = symbol.declarations?.find((candidate) => this.isInPackage(candidate)) ?? symbol.declarations?.[0];
    if (declaration === undefined) return;
    const sourceFile = declaration.getSourceFile();
    const documentation = safeDocumentation(symbol, this.checker);
    const tags = safeTags(symbol, this.checker);
    const parameters: DocParameter[] = [];
    const seenParameters = new Set<string>();
    const examples: string[] = [];
    let returns: string | undefined;
    let deprecated: string | undefined;
    let since: string | undefined;
    for (const tag of tags) {
      const text = typescript.displayPartsToString(tag.text).trim();
      if (tag.name === 'param') {
        const match = /^(\S+)\s*(?:-\s*)?([\s\S]*)$/.exec(text);
        const parameter = { name: match?.[1] ?? '', text: (match?.[2] ?? '').trim() };
        const key = `${parameter.name}\u0000${parameter.text}`;
        if (parameter.name !== '' && !seenParameters.has(key)) {
          seenParameters.add(key);
          parameters.push(parameter);
        }
      } else if (tag.name === 'returns' || tag.name === 'return') returns = text;
      else if (tag.name === 'example') {
        if (!examples.includes(text)) examples.push(text);
      }
      else if (tag.name === 'deprecated') deprecated = text;
      else if (tag.name === 'since') since = text;
    }
    const entry: DocEntry = {
      id: `${this.resolved.packageName}:${name}`,
      name,
      aliases: [...aliases],
      kind,
      signatures,
      summary: summarize(documentation),
      documentation,
      parameters,
      examples,
      package: this.resolved.packageName,
      packageVersion: this.resolved.version,
      sourceFile: relative(this.resolved.packageRoot, sourceFile.fileName),
      line: sourceFile.getLineAndCharacterOfPosition(declaration.getStart(sourceFile)).line + 1,
    };
    if (returns !== undefined) entry.returns = returns;
    if (deprecated !== undefined) entry.deprecated = deprecated;
    if (since !== undefined) entry.since = since;
    this.byName.set(name, entry);
    this.bySymbol.set(symbol, entry);
    this.entries.push(entry);
  }
}

const maximumAliases = 32;

function addAliases(entry: DocEntry, names: string[]): void {
  for (const name of names) {
    if (entry.aliases.length >= maximumAliases) return;
    if (name !== entry.name && !entry.aliases.includes(name)) entry.aliases.push(name);
  }
}

function aliasNames(aliases: string[], suffix: string): string[] {
  return aliases.map((alias) => `${alias}.${suffix}`);
}

function memberName(member: ts.Symbol): string {
  return member.name === '__constructor' ? 'constructor' : member.name;
}

function isPrivateName(name: string): boolean {
  return name.startsWith('#') || name.startsWith('__@');
}

function isPrivateDeclaration(declaration: ts.Declaration): boolean {
  const modifiers = typescript.canHaveModifiers(declaration) ? typescript.getModifiers(declaration) : undefined;
  return modifiers?.some((modifier) => modifier.kind === typescript.SyntaxKind.PrivateKeyword) ?? false;
}

function isExternalModuleDeclaration(declaration: ts.Declaration): boolean {
  return typescript.isSourceFile(declaration) || (typescript.isModuleDeclaration(declaration) && typescript.isStringLiteral(declaration.name));
}

function isGlobalDeclaration(declaration: ts.Declaration): boolean {
  let node: ts.Node | undefined = declaration.parent;
  while (node !== undefined && !typescript.isSourceFile(node)) {
    if (typescript.isModuleDeclaration(node)) return (node.flags & typescript.NodeFlags.GlobalAugmentation) !== 0;
    node = node.parent;
  }
  return node !== undefined && !typescript.isExternalModule(node);
}

function safeDocumentation(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  try {
    return typescript.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  } catch {
    return '';
  }
}

function safeTags(symbol: ts.Symbol, checker: ts.TypeChecker): ts.JSDocTagInfo[] {
  try {
    return symbol.getJsDocTags(checker);
  } catch {
    return [];
  }
}

/** The first paragraph of `documentation`, at most 300 characters. */
function summarize(documentation: string): string {
  const paragraph = documentation.split(/\n\s*\n/)[0]?.replace(/\s+/g, ' ').trim() ?? '';
  return paragraph.length > 300 ? `${paragraph.slice(0, 297)}...` : paragraph;
}

function declarationText(declaration: ts.Declaration, kind: DocEntryKind): string | undefined {
  const sourceFile = declaration.getSourceFile();
  let text: string;
  if (typescript.isClassDeclaration(declaration) || typescript.isInterfaceDeclaration(declaration) || typescript.isEnumDeclaration(declaration)) {
    const full = declaration.getText(sourceFile);
    text = full.slice(0, full.indexOf('{') >= 0 ? full.indexOf('{') : full.length);
  } else if (typescript.isModuleDeclaration(declaration)) {
    text = `namespace ${declaration.name.getText(sourceFile)}`;
  } else if (typescript.isVariableDeclaration(declaration)) {
    const list = declaration.parent;
    const keyword = typescript.isVariableDeclarationList(list) ? (list.flags & typescript.NodeFlags.Const ? 'const' : list.flags & typescript.NodeFlags.Let ? 'let' : 'var') : 'var';
    text = `${keyword} ${declaration.getText(sourceFile)}`;
  } else if (typescript.isSourceFile(declaration)) {
    return undefined;
  } else {
    text = declaration.getText(sourceFile);
  }
  text = text.replace(/\/\*\*[\s\S]*?\*\//g, '').replace(/\s+/g, ' ').replace(/^export\s+/, '').replace(/^declare\s+/, '').replace(/([([{<]) /g, '$1').replace(/,? ([)\]}>])/g, '$1').replace(/;$/, '').trim();
  if (kind === 'module') return undefined;
  return text.length > maximumSignatureLength ? `${text.slice(0, maximumSignatureLength - 3)}...` : text;
}
