/**
 * `nfs4 touch`: (being written; see issue 16).
 * @module
 */

import type { CliContext } from "./context.ts";
import type { RootCommand } from "./globals.ts";

/** Adds `touch` to the program. */
export function registerTouch(_program: RootCommand, _ctx: CliContext): void {
}
