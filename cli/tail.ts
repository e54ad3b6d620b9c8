/**
 * `nfs4 tail`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `tail` to the program. */
export function registerTail(_program: RootCommand, _ctx: CliContext): void {
}
