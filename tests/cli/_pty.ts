/**
 * `nfs4` run on a pseudo-terminal and typed at, so that a test sees what a
 * user at a terminal sees. util-linux `script -qfec COMMAND /dev/null`
 * gives the command a real terminal (stdin and stdout one tty, its process
 * group in the foreground): line editing, echo, `^C`, and the terminal's
 * own signals (Ctrl-C sends SIGINT to the whole foreground group) happen as
 * they do for a person; a pipe shows none of them. Each key is written to
 * `script`'s stdin, then a pause; what the terminal printed comes back.
 *
 * ```ts
 * const { code, text } = await onTerminal(
 *   ["--vers", "4.1", "shell", `${server.url}/vfs`],
 *   [["", 2500], ["pwd\r", 400], ["exit\r", 500]],
 *   { XDG_STATE_HOME: home },
 * );
 * ```
 * @module
 */

import { ROOT } from "./_spawn.ts";

/** Whether each of `tools` is installed here (answers `--version`). */
export function installed(...tools: string[]): boolean {
  return tools.every((tool) => {
    try {
      return new Deno.Command(tool, { args: ["--version"] }).outputSync().success;
    } catch {
      return false;
    }
  });
}

/** util-linux `script` is here: use `ignore: !hasScript`. */
export const hasScript: boolean = installed("script");

/**
 * Keys, with a pause (ms) after each; a function is run (awaited, given the
 * pid of `script`) instead of typed.
 */
export type Keys = readonly (readonly [string | ((pid: number) => Promise<void>), number])[];

/** What the terminal showed and how the command ended. */
export interface TerminalRun {
  /** The exit code of `nfs4` (script -e passes it on). */
  readonly code: number;
  /** The terminal's output as written to it: escape sequences, `\r\n`. */
  readonly screen: string;
  /** {@linkcode screen} without terminal controls, lines as printed (`\r\n` -> `\n`). */
  readonly text: string;
}

/** How {@linkcode onTerminal} types. */
export interface TerminalOptions {
  /**
   * Keys that find the terminal gone (the command ended) are dropped, not a
   * failure of the test: for a test whose own assertions say what the
   * command did before it ended.
   */
  readonly dropLateKeys?: boolean;
}

/**
 * Runs `nfs4 ...args` (`deno run -A cli/main.ts` from the repository root)
 * on a pseudo-terminal, typing `keys`; resolves once it ended with what
 * the terminal showed. The environment has NO_COLOR=1, TERM=xterm and
 * COLUMNS=200, then `env`.
 */
export async function onTerminal(
  args: readonly string[],
  keys: Keys,
  env: Record<string, string> = {},
  options: TerminalOptions = {},
): Promise<TerminalRun> {
  // `exec`: the shell `script` runs the command with ($SHELL, else
  // /bin/sh) is replaced by it. dash stays as nfs4's parent in the
  // terminal's foreground group, takes the Ctrl-C too, and after a child
  // that went on from it exits 0, exits 130 itself (which `script -e`
  // reports as nfs4's); bash execs a lone command on its own.
  const command = "exec " + [Deno.execPath(), "run", "-A", "cli/main.ts", ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qfec", command, "/dev/null"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", TERM: "xterm", COLUMNS: "200", ...env },
  }).spawn();
  const writer = child.stdin.getWriter();
  // A write that finds the command ended fails, unless late keys are dropped.
  const typed = (write: Promise<void>) => options.dropLateKeys ? write.catch(() => {}) : write;
  for (const [key, pause] of keys) {
    if (typeof key === "function") await key(child.pid);
    else await typed(writer.write(new TextEncoder().encode(key)));
    await new Promise((r) => setTimeout(r, pause));
  }
  await typed(writer.close());
  const output = await child.output();
  const screen = new TextDecoder().decode(output.stdout);
  return { code: output.code, screen, text: plain(screen) };
}

/** `screen` without terminal controls, lines as they were printed (\r\n -> \n). */
function plain(screen: string): string {
  return screen
    // deno-lint-ignore no-control-regex
    .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, "")
    .replace(/\r+\n/g, "\n");
}
