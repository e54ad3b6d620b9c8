/**
 * `nfs4 ln`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `ln` to the program. */
export function registerLn(_program: RootCommand, _ctx: CliContext): void {
}
