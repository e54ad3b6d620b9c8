/**
 * Running coreutils and `nfs4` the same way for a table-driven comparison
 * (tests/cli/_setattr.ts, tests/cli/_tree_ops.ts): under `sh` with a
 * umask, as a given user (coreutils through setpriv, nfs4 with
 * `--uid`/`--gid`), in the C.UTF-8 locale and UTC, with stdin as given.
 * @module
 */

import { ROOT } from "./_spawn.ts";

/** What a command printed and how it ended. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** How a command is run. */
export interface RunAs {
  /** The umask it starts with (default 022). */
  readonly umask?: number;
  /** As this uid (and gid): coreutils through setpriv, nfs4 with --uid/--gid. */
  readonly uid?: number;
  /** More environment (TZ). */
  readonly env?: Readonly<Record<string, string>>;
  /** Text on stdin (default: none, /dev/null). */
  readonly stdin?: string;
}

/** Runs `argv` in `cwd` under `sh` with the umask, user, environment and stdin of `as`. */
export async function runLocal(argv: readonly string[], cwd: string, as: RunAs = {}): Promise<Ran> {
  const umask = (as.umask ?? 0o022).toString(8).padStart(4, "0");
  const user = as.uid === undefined
    ? []
    : ["setpriv", `--reuid=${as.uid}`, `--regid=${as.uid}`, "--clear-groups"];
  const child = new Deno.Command("sh", {
    args: ["-c", 'umask "$1"; shift; exec "$@"', "sh", umask, ...user, ...argv],
    cwd,
    stdin: as.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C.UTF-8", NO_COLOR: "1", TZ: "UTC", ...as.env },
  }).spawn();
  if (as.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(as.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** Runs `nfs4 ...args` (the global options first) as {@linkcode runLocal} runs coreutils. */
export async function runNfs4(args: readonly string[], as: RunAs = {}): Promise<Ran> {
  const { uid, ...rest } = as;
  const ids = uid === undefined ? [] : ["--uid", `${uid}`, "--gid", `${uid}`];
  return await runLocal([Deno.execPath(), "run", "-A", "cli/main.ts", ...ids, ...args], ROOT, rest);
}
