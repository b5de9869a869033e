import { type Tree } from '@nx/devkit';
import { BootstrapError } from '../core/errors/errors';

/** What a generated streaming endpoint yields for `input` until it is written for real. */
export function streamedItems(endpoint: string, input: string): string[] {
  return [1, 2, 3].map((n) => `${endpoint}: ${input} #${n}`);
}

/** Strings as generated code spells them in an array: `'a', 'b'`. */
export function quoted(items: string[]): string {
  return items.map((item) => `'${item}'`).join(', ');
}

/** Generated code is formatted as the workspace's prettier would, at hostmesh's width. */
const PRINT_WIDTH = 160;

/**
 * Declares `method` a streaming endpoint in the contract's `defineContract<ApiName>(…)`: clients
 * learn it from there (not from the interface, which is erased) and return its stream at once.
 * A contract without declarations gets `{ method: { stream: true } }`; one with them gets an entry
 * more, laid out as prettier would. Other contract shapes are left to the user, with the code to add.
 */
export function declareStream(tree: Tree, path: string, apiName: string, method: string): void {
  const source = tree.read(path, 'utf-8')!;
  const entry = `${method}: { stream: true }`;
  const byHand = new BootstrapError(
    `${path}: no defineContract<${apiName}>('…') or defineContract<${apiName}>('…', { … }) to declare ${method} in: add ${entry} to its declarations by hand`,
  );
  const call = new RegExp(`defineContract<\\s*${apiName}\\s*>\\(\\s*(['"])[^'"]*\\1\\s*`).exec(source);
  if (!call) throw byHand;
  let at = call.index + call[0].length;
  if (source[at] === ')') {
    return write(tree, path, source, at, at, ', ', [entry]);
  }
  if (source[at] !== ',') throw byHand;
  at = skipSpace(source, at + 1);
  if (source[at] !== '{') throw byHand;
  const close = matchingBrace(source, at);
  if (close < 0) throw byHand;
  const body = source.slice(at + 1, close);
  if (new RegExp(`(^|[\\s,{])['"]?${method}['"]?\\s*:`).test(body)) return;
  if (body.includes('\n')) {
    // Laid out one entry a line already: one line more, in the same style, user comments kept.
    const closingIndent = indentOf(source, close);
    const entryIndent = /\n([ \t]*)\S/.exec(body)?.[1] ?? `${closingIndent}  `;
    const kept = body.trimEnd();
    const comma = kept === '' || kept.endsWith(',') ? '' : ',';
    tree.write(path, `${source.slice(0, at + 1)}${kept}${comma}\n${entryIndent}${entry},\n${closingIndent}${source.slice(close)}`);
    return;
  }
  write(tree, path, source, at, close + 1, '', [...topLevelEntries(body), entry]);
}

/** Writes `prefix` and an object of `entries` over source[from, to): on one line, or one entry a line past the print width, as prettier does. */
function write(tree: Tree, path: string, source: string, from: number, to: number, prefix: string, entries: string[]): void {
  const lineStart = source.lastIndexOf('\n', from) + 1;
  const lineEnd = source.indexOf('\n', to) < 0 ? source.length : source.indexOf('\n', to);
  let object = `${prefix}{ ${entries.join(', ')} }`;
  if (source.slice(lineStart, from).length + object.length + source.slice(to, lineEnd).length > PRINT_WIDTH) {
    const indent = indentOf(source, from);
    object = `${prefix}{\n${entries.map((e) => `${indent}  ${e},`).join('\n')}\n${indent}}`;
  }
  tree.write(path, source.slice(0, from) + object + source.slice(to));
}

function skipSpace(source: string, at: number): number {
  while (at < source.length && /\s/.test(source[at]!)) at++;
  return at;
}

function indentOf(source: string, at: number): string {
  const lineStart = source.lastIndexOf('\n', at) + 1;
  return /^[ \t]*/.exec(source.slice(lineStart))![0];
}

/** The `}` that closes the `{` at `open`, or -1. Declarations hold no braces inside strings. */
function matchingBrace(source: string, open: number): number {
  let depth = 0;
  for (let at = open; at < source.length; at++) {
    if (source[at] === '{') depth++;
    else if (source[at] === '}' && --depth === 0) return at;
  }
  return -1;
}

/** `a: { x: 1 }, b: {}` → ['a: { x: 1 }', 'b: {}']. */
function topLevelEntries(body: string): string[] {
  const entries: string[] = [];
  let depth = 0;
  let start = 0;
  for (let at = 0; at <= body.length; at++) {
    const char = body[at];
    if (char === '{' || char === '[' || char === '(') depth++;
    else if (char === '}' || char === ']' || char === ')') depth--;
    else if ((char === ',' && depth === 0) || at === body.length) {
      if (body.slice(start, at).trim()) entries.push(body.slice(start, at).trim());
      start = at + 1;
    }
  }
  return entries;
}
