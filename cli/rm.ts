/**
 * `nfs4 rm`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `rm` to the program. */
export function registerRm(_program: RootCommand, _ctx: CliContext): void {
}
