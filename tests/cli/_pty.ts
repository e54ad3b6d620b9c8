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

/** libc's pseudo-terminal calls, for {@linkcode openTerminal} (Linux). */
const PTY_SYMBOLS = {
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname_r: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  // Waits on the pty's side; never a blocking read(2) on it, which would
  // keep it open past close() (the hang-up would never come).
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
} as const;

/** `setsid` with `--ctty` (util-linux): use `ignore: !hasSetsid`. */
export const hasSetsid: boolean = (() => {
  try {
    return new TextDecoder().decode(
      new Deno.Command("setsid", { args: ["--help"] }).outputSync().stdout,
    )
      .includes("--ctty");
  } catch {
    return false;
  }
})();

/** A command on a pseudo-terminal this test holds the other side of. */
export interface Terminal {
  /** The command's pid (its session's leader, the terminal its controlling one). */
  readonly pid: number;
  /** What the terminal showed so far, without controls (\r\n -> \n). */
  text(): string;
  /** Types `keys`. */
  type(keys: string): void;
  /** Resolves when `pattern` shows in the output from `from` on (an offset in text()). */
  waitFor(pattern: RegExp, from?: number): Promise<void>;
  /** Resolves when the terminal's mode (ICANON, what raw mode clears) is `raw` or not. */
  waitForRaw(raw: boolean): Promise<void>;
  /** Closes this side: the terminal hangs up (SIGHUP to the command, its reads end). */
  hangUp(): Promise<void>;
  /** How the command ended. */
  readonly status: Promise<Deno.CommandStatus>;
}

/**
 * Runs `command ...args` as the session leader of a new pseudo-terminal
 * (`setsid --ctty`), as a terminal emulator or sshd starts a login shell,
 * with no job-control shell between: the test is the terminal. Unlike
 * {@linkcode onTerminal}, it waits for what the terminal shows (never for
 * a time), can close the terminal (the window closed), and gets the
 * command's own exit status. No wait is a timing: each is bounded by
 * `boundMs` only to end a hung test.
 */
export function openTerminal(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
  boundMs = 60_000,
): Terminal {
  const libc = Deno.dlopen("libc.so.6", PTY_SYMBOLS);
  // O_CLOEXEC: the command must not hold this side too, or closing it here
  // would not hang the terminal up.
  const O_RDWR_NOCTTY_CLOEXEC = 0o2 | 0o400 | 0o2000000;
  const fd = libc.symbols.posix_openpt(O_RDWR_NOCTTY_CLOEXEC);
  if (fd < 0 || libc.symbols.grantpt(fd) !== 0 || libc.symbols.unlockpt(fd) !== 0) {
    throw new Error("no pseudo-terminal");
  }
  const name = new Uint8Array(64);
  libc.symbols.ptsname_r(fd, name, BigInt(name.length));
  const slave = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
  // sh opens the terminal as the three streams, then setsid makes the
  // command (the same process: sh is no group leader) the leader of a new
  // session with that terminal as its controlling one.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec setsid --ctty "$@" <"$0" >"$0" 2>&1', slave, command, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1", TERM: "xterm", COLUMNS: "200", ...env },
  }).spawn();
  let screen = "";
  let open = true;
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(65536);
  const pollfd = new Uint8Array(8);
  const view = new DataView(pollfd.buffer);
  const reading = (async () => {
    while (open) {
      view.setInt32(0, fd, true);
      view.setInt16(4, 1, /* POLLIN */ true);
      view.setInt16(6, 0, true);
      const ready = await libc.symbols.poll(pollfd, 1n, 50);
      if (!open) break;
      if (ready <= 0) continue;
      const n = Number(libc.symbols.read(fd, buffer, BigInt(buffer.length)));
      // EIO: the command and every other holder of its side ended.
      if (n <= 0) break;
      screen += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  })();
  const bounded = async (what: string, done: () => boolean) => {
    const deadline = performance.now() + boundMs;
    while (!done()) {
      if (performance.now() > deadline) {
        throw new Error(`no ${what} in ${boundMs} ms; the terminal showed:\n${plain(screen)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const status = child.status.then(async (s) => {
    await reading;
    return s;
  });
  let closed = false;
  const closeSide = async () => {
    if (closed) return;
    closed = true;
    open = false;
    await reading;
    libc.symbols.close(fd);
  };
  status.finally(() => closeSide().then(() => libc.close()));
  return {
    pid: child.pid,
    text: () => plain(screen),
    type(keys) {
      const bytes = new TextEncoder().encode(keys);
      if (Number(libc.symbols.write(fd, bytes, BigInt(bytes.length))) !== bytes.length) {
        throw new Error(`typing ${JSON.stringify(keys)} failed`);
      }
    },
    waitFor: (pattern, from = 0) =>
      bounded(String(pattern), () => pattern.test(plain(screen).slice(from))),
    waitForRaw(raw) {
      const termios = new Uint8Array(64);
      return bounded(raw ? "raw mode" : "cooked mode", () => {
        if (libc.symbols.tcgetattr(fd, termios) !== 0) return false;
        // struct termios: c_iflag, c_oflag, c_cflag, c_lflag (ICANON 0o2).
        const icanon = (new DataView(termios.buffer).getUint32(12, true) & 0o2) !== 0;
        return icanon !== raw;
      });
    },
    hangUp: closeSide,
    status,
  };
}
