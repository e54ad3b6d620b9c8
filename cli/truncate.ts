/**
 * `nfs4 truncate`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `truncate` to the program. */
export function registerTruncate(_program: RootCommand, _ctx: CliContext): void {
}
