/**
 * `nfs4 completions bash|zsh|fish|powershell`: prints a completion script.
 *
 * The script calls `nfs4 complete -- WORDS…` on each TAB, which answers
 * with the subcommands and options of the command tree, so completions stay
 * in step with the commands themselves. Built on @bomb.sh/tab's commander
 * adapter (cliffy's completions command is not reachable here: no JSR).
 *
 *   source <(nfs4 completions bash)
 *   nfs4 completions fish > ~/.config/fish/completions/nfs4.fish
 * @module
 */

import type { Command } from "commander";
import tab from "@bomb.sh/tab/commander";
import type { RootCommand } from "./globals.ts";

/**
 * Adds `completions <shell>` (and the hidden `complete` it calls back) to
 * the program. Call after every other subcommand is registered: the adapter
 * reads the command tree as it is then.
 */
export function addCompletions(program: RootCommand): void {
  tab(program as unknown as Command, { completionCommandName: "completions" });
  const completions = program.commands.find((c) => c.name() === "completions");
  completions?.addHelpText(
    "after",
    `
Examples:
  $ source <(nfs4 completions bash)
  $ nfs4 completions zsh > ~/.zsh/completions/_nfs4
  $ nfs4 completions fish > ~/.config/fish/completions/nfs4.fish
`,
  );
}
