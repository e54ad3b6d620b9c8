/**
 * `nfs4 mkdir`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `mkdir` to the program. */
export function registerMkdir(_program: RootCommand, _ctx: CliContext): void {
}
