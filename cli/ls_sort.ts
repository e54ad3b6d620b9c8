/**
 * The order of `nfs4 ls`, as coreutils `ls` sorts: by name (bytes, the C
 * and C.UTF-8 collation), by time newest first (`-t`, the time `-u`/`-c`
 * choose, to the nanosecond), by size largest first (`-S`), or not at all
 * (`-U`, the server's READDIR order). Ties are broken by name, and `-r`
 * reverses the whole comparison, ties included.
 * @module
 */

import type { FileInfo } from "../lib/client/types.ts";
import { compareNames, type TimeField, timeOf } from "./ls_format.ts";

/** What `ls` sorts by. */
export type SortKey = "name" | "time" | "size" | "none";

/** The sort of one `ls` run. */
export interface SortOptions {
  readonly key: SortKey;
  readonly reverse: boolean;
  /** The time `-t` compares (`-u` atime, `-c` ctime). */
  readonly time: TimeField;
}

/** Something listed: its attributes and the name it sorts by. */
export interface Sortable {
  readonly info: FileInfo;
  readonly name: string;
}

/** What an unknown time or size sorts as: below every value. */
const UNKNOWN = -(2n ** 64n);

function compareBigint(a: bigint | undefined, b: bigint | undefined): number {
  const x = a ?? UNKNOWN;
  const y = b ?? UNKNOWN;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A code unit of U+D800 or above: where UTF-16 order and UTF-8 byte order
 * part (surrogates, U+E000..U+FFFF), and where bytes that are not UTF-8
 * hide (escapes, lib/client/names.ts).
 */
const BEYOND_PLAIN_ORDER = /[\ud800-\uffff]/;

/** Whether `name`'s code units are in its bytes' order (none at or above U+D800). */
export function sortsAsPlainString(name: string): boolean {
  return !BEYOND_PLAIN_ORDER.test(name);
}

/** compareNames() for names without such code units: their code units are in byte order. */
function comparePlainNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The comparator of `options` (newest or largest first, then by name; `-r` reversed). */
export function comparator(options: SortOptions): (a: Sortable, b: Sortable) => number {
  const forward = (a: Sortable, b: Sortable): number => {
    let diff = 0;
    if (options.key === "time") {
      diff = compareBigint(timeOf(b.info, options.time), timeOf(a.info, options.time));
    } else if (options.key === "size") {
      diff = compareBigint(b.info.size, a.info.size);
    }
    return diff !== 0 ? diff : compareNames(a.name, b.name);
  };
  return options.reverse ? (a, b) => forward(b, a) : forward;
}

/** What the caller of {@linkcode sortListing} knows of its items. */
export interface ListingHints {
  /** Whether every name satisfies {@linkcode sortsAsPlainString} (looked at when not given). */
  readonly plainNames?: boolean | undefined;
  /** Whether `String(item)` is `item.name` for every item. */
  readonly namedByString?: boolean | undefined;
}

/**
 * Sorts `items` in place as `ls` would list them and returns them. With
 * `none` they keep their order (`-r` too has no effect then, as in
 * coreutils).
 */
export function sortListing<T extends Sortable>(
  items: T[],
  options: SortOptions,
  hints: ListingHints = {},
): T[] {
  if (options.key === "none" || items.length < 2) return items;
  // The same order as comparator(options), computed for a whole listing:
  // names compared as plain strings when that is their byte order, and
  // each time or size looked up once rather than once per comparison.
  const plain = hints.plainNames ?? items.every((item) => sortsAsPlainString(item.name));
  if (plain && hints.namedByString && options.key === "name" && !options.reverse) {
    // The engine's own sort of strings, without a comparator called from
    // it: the order of code units (plain names: their bytes), stable.
    return items.sort();
  }
  const names = plain ? comparePlainNames : compareNames;
  const sign = options.reverse ? -1 : 1;
  if (options.key === "name") return items.sort((a, b) => sign * names(a.name, b.name));
  const keyed = items.map((item) => ({
    item,
    key: options.key === "time" ? timeOf(item.info, options.time) : item.info.size,
  }));
  keyed.sort((a, b) => sign * (compareBigint(b.key, a.key) || names(a.item.name, b.item.name)));
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i]!.item;
  return items;
}
