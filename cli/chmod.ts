/**
 * `nfs4 chmod`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `chmod` to the program. */
export function registerChmod(_program: RootCommand, _ctx: CliContext): void {
}
