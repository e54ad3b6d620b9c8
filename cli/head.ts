/**
 * `nfs4 head`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `head` to the program. */
export function registerHead(_program: RootCommand, _ctx: CliContext): void {
}
