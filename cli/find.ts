/**
 * `nfs4 find`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `find` to the program. */
export function registerFind(_program: RootCommand, _ctx: CliContext): void {
}
