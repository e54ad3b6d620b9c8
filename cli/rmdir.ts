/**
 * `nfs4 rmdir`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `rmdir` to the program. */
export function registerRmdir(_program: RootCommand, _ctx: CliContext): void {
}
