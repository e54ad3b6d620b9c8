/**
 * `nfs4 df`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `df` to the program. */
export function registerDf(_program: RootCommand, _ctx: CliContext): void {
}
