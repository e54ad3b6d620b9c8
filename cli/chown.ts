/**
 * `nfs4 chown`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `chown` to the program. */
export function registerChown(_program: RootCommand, _ctx: CliContext): void {
}
