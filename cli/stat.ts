/**
 * `nfs4 stat`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `stat` to the program. */
export function registerStat(_program: RootCommand, _ctx: CliContext): void {
}
