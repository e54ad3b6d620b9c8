/**
 * `nfs4 du`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `du` to the program. */
export function registerDu(_program: RootCommand, _ctx: CliContext): void {
}
