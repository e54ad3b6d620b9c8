/**
 * `nfs4 mv`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `mv` to the program. */
export function registerMv(_program: RootCommand, _ctx: CliContext): void {
}
