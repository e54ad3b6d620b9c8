/**
 * Starts the single binary again, once, with JavaScriptCore's last
 * optimizing tier (FTL) off, before a command that may run long does any
 * work (issue 19: CPU per byte and per file, peak memory).
 *
 * Why: in a long command FTL compiled 100 or so functions, for 0.5-1.2
 * CPU-s of compiler time (`BUN_JSC_reportFTLCompileTimes`; its threads were
 * a fifth of a `cp -r`'s CPU in `perf`), and the code it made ran hardly
 * faster than DFG's: what nfs4 spends its time on is system calls and
 * waiting, not hot loops. Measured with `BUN_JSC_useFTLJIT=0` against the
 * default (the binary, medians of interleaved runs, client CPU):
 * `cp -r` of 10,000 files to the server 4.95 → 4.15 s (wall 5.80 → 5.02
 * s), from it 2.95 → 2.30 s (peak RSS 87 → 75 MB), a 16 GiB read 3.18 →
 * 2.93 s (61 → 56 MB); a 1 GiB `cat` or `cp`, `ls -l` of 10,000 entries and
 * `cat` of 1,000 files the same. With the restart itself, against the
 * build before it: `cp -r` up 5.54 → 4.63 s, down 3.35 → 2.36 s, `rm -r`
 * of 10,000 files 2.00 → 1.52 s, `chmod -R` 2.79 → 2.24 s.
 *
 * How: JavaScriptCore reads its options from the environment once, when the
 * runtime starts, and freezes them; so the process replaces itself with
 * `execve(2)` of its own executable (`/proc/self/exe`), with the exact
 * arguments and environment it was started with (`/proc/self/cmdline` and
 * `/proc/self/environ`, as bytes) and `BUN_JSC_useFTLJIT=0` added (taken
 * out of the environment again once restarted, when the process also takes
 * back its name: {@linkcode RESTART_MARKER}). Nothing has been read,
 * written or sent by then; the process keeps its pid, its parent and the
 * descriptors it was started with (see {@linkcode restartWithoutFtlIfLong}).
 * A second start-up costs about 8-10 ms of CPU,
 * so only commands that may run long restart ({@linkcode mayRunLong}); one
 * whose environment names any `BUN_JSC_*` variable never does (set
 * `BUN_JSC_useFTLJIT=1` to keep a command from restarting, under a sandbox
 * that forbids `execve`, say), which also ends the restart after one. Only
 * in the single binary on Linux; anywhere else, or if any step fails, the
 * command runs as it is.
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { snapshotGivenDescriptors } from "./given_descriptors.ts";
import { splitNul } from "./libc.ts";

/** The variable JavaScriptCore reads (Bun passes `BUN_JSC_*` on as options). */
export const FTL_VARIABLE = "BUN_JSC_useFTLJIT";
/**
 * Set beside it by the restart ({@linkcode restartMarker}), so that the
 * restarted process takes both out of its environment again (a program it
 * runs, such as `getent` for `cp --preserve=ownership`, gets the environment
 * nfs4 was given) and its name back. Only a marker naming the process's own
 * pid counts: one inherited from elsewhere is left alone.
 */
export const RESTART_MARKER = "NFS4_RESTARTED_WITHOUT_FTL";

/** A command that can last as long as its user: a session of commands. */
const LONG_COMMANDS = new Set(["shell"]);
/**
 * Commands that act on every file of a tree when recursive (`-r`, `-R`,
 * `--recursive`, and `cp`'s `-a`/`--archive`): an OPEN, WRITE, READ,
 * SETATTR or REMOVE per file, with its JavaScript, which is what FTL
 * compiled. Not restarted: one file, however large (a 1 GiB `cat` or `cp`
 * took the same CPU either way; one of 16 GiB 8% less, but a second
 * start-up would be a third of a small file's `cat`), and listings (`ls -R`,
 * `du`, `find`: 10,000 entries took 0.01-0.02 CPU-s more, the restart's
 * cost, and gained nothing).
 */
const LONG_WHEN_RECURSIVE = new Set(["cp", "rm", "chmod", "chown"]);

/**
 * Whether the command line (the program's arguments) names a command that
 * may run long: its first argument that is a command name decides. A wrong
 * guess costs speed only (10 ms for a short command restarted, FTL's
 * compile time for a long one that was not), never a different result.
 *
 * @example
 * ```ts
 * mayRunLong(["--trace", "cp", "-r", "a", "nfs://srv/vfs/b"]); // true
 * mayRunLong(["rm", "-rf", "nfs://srv/vfs/old"]); // true
 * mayRunLong(["cp", "nfs://srv/vfs/big", "."]); // false
 * mayRunLong(["ls", "-lR", "nfs://srv/vfs"]); // false
 * mayRunLong(["lock", "nfs://srv/vfs/f", "--", "rm", "-r", "x"]); // false
 * ```
 */
export function mayRunLong(args: readonly string[]): boolean {
  // What follows `--` is operands (or `lock`'s command), never nfs4's.
  const end = args.indexOf("--");
  const head = end === -1 ? args : args.slice(0, end);
  const at = head.findIndex((arg) => LONG_COMMANDS.has(arg) || LONG_WHEN_RECURSIVE.has(arg));
  if (at === -1) return false;
  if (LONG_COMMANDS.has(head[at]!)) return true;
  const archive = head[at] === "cp";
  return head.slice(at + 1).some((arg) =>
    arg === "--recursive" || (archive && arg === "--archive") ||
    (/^-[A-Za-z]+$/.test(arg) && (archive ? /[rRa]/ : /[rR]/).test(arg))
  );
}

/**
 * The NUL-terminated strings of `bytes` (the form of `/proc/self/cmdline`),
 * each with its NUL; a last one without it gets one. Empty strings stay.
 */
export function nulTerminated(bytes: Uint8Array): Uint8Array[] {
  return splitNul(bytes).map((string) => {
    const entry = new Uint8Array(string.length + 1);
    entry.set(string);
    return entry;
  });
}

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => number> };
  ptr(view: ArrayBufferView): number;
}

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
/** Whether this process is the single binary (Bun with its code embedded). */
function isSingleBinary(): boolean {
  const bun = (globalThis as { Bun?: { main?: unknown } }).Bun;
  return typeof bun?.main === "string" && bun.main.startsWith("/$bunfs/");
}

/**
 * Descriptors above stderr that the process was started with, to keep open
 * across `execve`: Bun marks every descriptor it inherits close-on-exec at
 * start-up, so without this a `/dev/fd/63` from the shell's process
 * substitution (`nfs4 cp -r <(...) ...`) or a descriptor a script opened for
 * nfs4 would be gone in the restarted process. All but the event loop's own
 * are kept (lib/os/given_descriptors.ts): before any other module has run,
 * those two are all the runtime has opened (a restarted `nfs4 shell` holds
 * the same descriptors as one that was not).
 */
function inheritedDescriptors(): number[] {
  return snapshotGivenDescriptors(true).stillOpen();
}

/** A restart's marker: the pid (which `execve` keeps) and the process's name (`comm`) in hex. */
export function restartMarker(pid: number, comm: Uint8Array): string {
  return `${pid}:${[...comm].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

/** The pid and name a marker holds; undefined for anything else. */
export function parseRestartMarker(
  value: string | undefined,
): { pid: number; comm: Uint8Array } | undefined {
  const match = /^(\d{1,10}):((?:[0-9a-f]{2}){0,15})$/.exec(value ?? "");
  if (!match) return undefined;
  const comm = new Uint8Array(match[2]!.length / 2);
  for (let i = 0; i < comm.length; i++) comm[i] = parseInt(match[2]!.slice(2 * i, 2 * i + 2), 16);
  return { pid: Number(match[1]), comm };
}

const PR_SET_NAME = 15;

type LibcSymbols = Record<string, (...args: unknown[]) => number>;

/** execve, fcntl, prctl and unsetenv through bun:ffi; undefined outside Bun. */
function bunLibc(): { ffi: BunFfi; c: LibcSymbols } | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown })
    .getBuiltinModule;
  if (!("Bun" in globalThis) || typeof getBuiltin !== "function") return undefined;
  const ffi = getBuiltin("bun:ffi") as BunFfi | undefined;
  if (!ffi) return undefined;
  const { symbols } = ffi.dlopen("libc.so.6", {
    execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
    fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
    prctl: { args: ["i32", "ptr", "u64", "u64", "u64"], returns: "i32" },
    unsetenv: { args: ["ptr"], returns: "i32" },
  });
  return { ffi, c: symbols };
}

/**
 * The restarted process: JavaScriptCore has read its options, so the two
 * variables leave the environment (`process.env`, and libc's own, which
 * `Bun.spawn` passes on), and the process takes back its name: `execve` of
 * `/proc/self/exe` named it `exe`, which `pgrep nfs4`, `pkill nfs4` and `ps
 * -C nfs4` would not find.
 */
function finishRestart(comm: Uint8Array): void {
  delete process.env[RESTART_MARKER];
  delete process.env[FTL_VARIABLE];
  try {
    const libc = bunLibc();
    if (!libc) return;
    const encoder = new TextEncoder();
    for (const name of [RESTART_MARKER, FTL_VARIABLE]) {
      libc.c.unsetenv!(encoder.encode(`${name}\0`));
    }
    const name = new Uint8Array(comm.length + 1);
    name.set(comm);
    if (comm.length > 0) libc.c.prctl!(PR_SET_NAME, name, 0, 0, 0);
  } catch {
    // The name stays `exe`; nothing else depends on it.
  }
}

/**
 * Replaces this process with its executable started again with FTL off, when
 * `args` may run long and nothing says otherwise; returns only when it does
 * not (or cannot) restart. The restarted process, calling it again, takes
 * back its environment and name and goes on.
 */
export function restartWithoutFtlIfLong(args: readonly string[]): void {
  const marker = parseRestartMarker(process.env[RESTART_MARKER]);
  if (marker && marker.pid === process.pid) return finishRestart(marker.comm);
  if (process.platform !== "linux" || !isSingleBinary() || !mayRunLong(args)) return;
  // Someone tuning JavaScriptCore (or keeping FTL on, BUN_JSC_useFTLJIT=1)
  // gets what they asked for; a profiler's option may also have opened files
  // (a JIT dump) that the restart would carry over.
  if (Object.keys(process.env).some((name) => name.startsWith("BUN_JSC_"))) return;
  try {
    const libc = bunLibc();
    if (!libc) return;
    const { ffi, c } = libc;
    const argv = nulTerminated(new Uint8Array(readFileSync("/proc/self/cmdline")));
    const environment = nulTerminated(new Uint8Array(readFileSync("/proc/self/environ")));
    if (argv.length === 0) return;
    const comm = new Uint8Array(readFileSync("/proc/self/comm")).subarray(0, 15);
    const name = comm.at(-1) === 0x0a ? comm.subarray(0, -1) : comm;
    const encoder = new TextEncoder();
    environment.push(
      encoder.encode(`${FTL_VARIABLE}=0\0`),
      encoder.encode(`${RESTART_MARKER}=${restartMarker(process.pid, name)}\0`),
    );
    const pointers = (strings: Uint8Array[]) => {
      const array = new BigUint64Array(strings.length + 1);
      strings.forEach((string, i) => array[i] = BigInt(ffi.ptr(string)));
      return array;
    };
    const kept: number[] = [];
    for (const fd of inheritedDescriptors()) {
      const flags = c.fcntl!(fd, F_GETFD, 0);
      if (flags < 0 || (flags & FD_CLOEXEC) === 0) continue;
      if (c.fcntl!(fd, F_SETFD, flags & ~FD_CLOEXEC) === 0) kept.push(fd);
    }
    const path = encoder.encode("/proc/self/exe\0");
    const argvPointers = pointers(argv);
    const environmentPointers = pointers(environment);
    // Returns only on failure (ENOENT without /proc, E2BIG, ENOMEM ...); the
    // descriptors then go back to how Bun left them.
    c.execve!(path, argvPointers, environmentPointers);
    for (const fd of kept) c.fcntl!(fd, F_SETFD, FD_CLOEXEC);
    // The strings the pointers point into live until here, whatever the compiler does.
    void [argv, environment, path];
  } catch {
    // No FFI, no /proc: the command runs with FTL on.
  }
}
