/**
 * Names in coreutils-style messages (`removed 'URL'`, `mode of 'URL'
 * changed`, `cannot move 'A' to 'B'`): quoted as coreutils' quoteaf()
 * quotes them, shell-escape and always in quotes, so a name with a space,
 * a quote or a byte that is not UTF-8 is still one unambiguous word.
 * @module
 */

import { quoteName } from "./ls_quote.ts";

/**
 * `text` as coreutils' quoteaf() writes it: `'a b'`, `"it's"`,
 * `'lat'$'\351''in1'` for a byte that is not UTF-8.
 */
export function quoted(text: string): string {
  return quoteName(text, { style: "shell-escape-always" }).text;
}
