/**
 * Helpers for the `nfs4 lock` black-box tests: each lock is taken by a
 * separate `nfs4` process (a separate NFSv4 client), started here and
 * watched through its output.
 *
 * ```ts
 * const holder = startNfs4(["--vers", "4.1", "lock", url]);
 * await holder.waitFor("stderr", /^nfs4: holding /m);
 * holder.kill("SIGTERM");
 * assert.equal((await holder.done).code, 0);
 * ```
 * @module
 */

import assert from "node:assert/strict";
import type { LockHolder, LockRange } from "../../lib/client/api.ts";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { FaultProxy } from "../_fault_proxy.ts";
import type { TestServer } from "../_server.ts";

/** The repository root, where `cli/main.ts` is run from. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** A lock on the whole file. */
export const WHOLE = 0xffff_ffff_ffff_ffffn;

/** How a run of `nfs4` ended. */
export interface Ended {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly stdout: string;
  readonly stderr: string;
  /** performance.now() when it exited. */
  readonly endedAt: number;
  /** Wall time from spawn to exit, in ms. */
  readonly ms: number;
}

/** A running `nfs4`. */
export interface Running {
  readonly pid: number;
  readonly startedAt: number;
  /** Output so far. */
  text(stream: "stdout" | "stderr"): string;
  /** Resolves with the match once `pattern` shows in the stream; rejects after `timeoutMs` or at exit. */
  waitFor(
    stream: "stdout" | "stderr",
    pattern: RegExp,
    timeoutMs?: number,
  ): Promise<RegExpMatchArray>;
  /** Sends `signal`; nothing once it has exited. */
  kill(signal: Deno.Signal): void;
  readonly done: Promise<Ended>;
}

/** How {@linkcode startNfs4} runs it, beyond the defaults. */
export interface StartOptions {
  /** A built binary to run instead of `deno run cli/main.ts`. */
  readonly binary?: string;
  /** Its standard output goes nowhere (a large `cat`): `text("stdout")` stays empty. */
  readonly discardStdout?: boolean;
}

/** Starts `nfs4 ...args` (stdin closed, output piped). */
export function startNfs4(
  args: readonly string[],
  env: Record<string, string> = {},
  options: StartOptions = {},
): Running {
  const startedAt = performance.now();
  const child = new Deno.Command(options.binary ?? Deno.execPath(), {
    args: options.binary ? [...args] : ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: options.discardStdout ? "null" : "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const text = { stdout: "", stderr: "" };
  const watchers = new Set<() => void>();
  let exited = false;
  const pump = async (stream: "stdout" | "stderr", readable: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of readable) {
      text[stream] += decoder.decode(chunk, { stream: true });
      for (const watcher of watchers) watcher();
    }
  };
  const pumps = Promise.all([
    options.discardStdout ? undefined : pump("stdout", child.stdout),
    pump("stderr", child.stderr),
  ]);
  const done = (async (): Promise<Ended> => {
    const status = await child.status;
    await pumps;
    exited = true;
    for (const watcher of watchers) watcher();
    const endedAt = performance.now();
    return {
      code: status.code,
      signal: status.signal,
      stdout: text.stdout,
      stderr: text.stderr,
      endedAt,
      ms: endedAt - startedAt,
    };
  })();
  return {
    pid: child.pid,
    startedAt,
    text: (stream) => text[stream],
    waitFor(stream, pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text[stream]);
          if (match) finish(() => resolve(match));
          else if (exited) {
            finish(() =>
              reject(new Error(`nfs4 exited before ${pattern} on ${stream}:\n${text.stderr}`))
            );
          }
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(new Error(`no ${pattern} on ${stream} in ${timeoutMs} ms:\n${text.stderr}`))
            ),
          timeoutMs,
        );
        const finish = (outcome: () => void) => {
          clearTimeout(timer);
          watchers.delete(check);
          outcome();
        };
        watchers.add(check);
        check();
      });
    },
    kill(signal) {
      try {
        child.kill(signal);
      } catch (e) {
        if (!exited) throw e; // else: it has already exited
      }
    },
    done,
  };
}

/** Runs `nfs4 ...args` to the end. */
export function nfs4(args: readonly string[], env: Record<string, string> = {}): Promise<Ended> {
  return startNfs4(args, env).done;
}

/** `nfs4: holding exclusive lock on URL bytes 0- (lock owner lock-pPID-N, stateid …)` */
export function holdingLine(url: string, kind: "shared" | "exclusive", bytes: string): RegExp {
  return new RegExp(
    `^nfs4: holding ${kind} lock on ${escape(url)} bytes ${escape(bytes)} ` +
      `\\(lock owner (lock-p(\\d+)-\\d+), stateid [0-9a-f]{24}:\\d+\\)$`,
    "m",
  );
}

/**
 * The same line as a `--trace=json` note event (every stderr line is JSON
 * while that trace is on): `{"t":…,"cat":"error","event":"note","detail":"holding …"}`.
 */
export function holdingEvent(url: string, kind: "shared" | "exclusive", bytes: string): RegExp {
  return new RegExp(
    `^\\{"t":[0-9.]+,"cat":"error","event":"note","detail":"holding ${kind} lock on ${
      escape(url)
    } bytes ${escape(bytes)} \\(lock owner (lock-p(\\d+)-\\d+), stateid [0-9a-f]{24}:\\d+\\)"\\}$`,
    "m",
  );
}

/**
 * A pattern for the holder part of a conflict line:
 * `exclusive lock on bytes 0- held by lock owner lock-p42-1 (client 0x…)`.
 */
export function heldBy(kind: "shared" | "exclusive", bytes: string, owner: string): string {
  return `${kind} lock on bytes ${escape(bytes)} held by lock owner ${escape(owner)} ` +
    `\\(client 0x[0-9a-f]{16}\\)`;
}

/** `nfs4: URL: locked: <holder> (NFS4ERR_DENIED)` on one line, the whole of stderr. */
export function conflictLine(
  url: string,
  holder: string,
  suffix = "",
  options: { mayBeEarlier?: boolean } = {},
): RegExp {
  // With -w, a try in flight at the deadline (a loaded machine) gives the
  // last refusal again, saying when it came (cli/lock.ts).
  const asOf = options.mayBeEarlier
    ? "(?: \\(as the server said at \\d+\\.\\d s; no later answer came before the deadline\\))?"
    : "";
  return new RegExp(
    `^nfs4: ${escape(url)}: locked: ${holder}${asOf}${suffix} \\(NFS4ERR_DENIED\\)\\n$`,
  );
}

/**
 * Starts a holder without COMMAND and waits for its "holding" line; returns
 * it with its lock owner (which names its pid: one lock owner per process).
 */
export async function startHolder(
  args: readonly string[],
  url: string,
  kind: "shared" | "exclusive",
  bytes: string,
): Promise<Running & { owner: string }> {
  const holder = startNfs4(args);
  const match = await holder.waitFor("stderr", holdingLine(url, kind, bytes));
  assert.equal(Number(match[2]), holder.pid, "the lock owner names the process");
  return Object.assign(holder, { owner: match[1]! });
}

/** Ends a holder with `signal`; asserts it released and exited 0 quietly after its holding line. */
export async function stopHolder(holder: Running, signal: Deno.Signal = "SIGTERM"): Promise<Ended> {
  holder.kill(signal);
  const ended = await holder.done;
  assert.equal(ended.code, 0, ended.stderr);
  assert.equal(ended.stdout, "");
  assert.equal(ended.stderr.split("\n").filter((l) => l !== "").length, 1, ended.stderr);
  return ended;
}

/**
 * Asks the server who holds a lock conflicting with `range` on `path`
 * (LOCKT), from a library client with an owner string no command uses, so
 * the probe never takes over the instance of a killed `nfs4`.
 */
export async function probeHolder(
  server: TestServer,
  version: "4.0" | "4.1",
  path: string,
  range: LockRange = { type: "write", offset: 0n, length: WHOLE },
): Promise<LockHolder | undefined> {
  const probe = await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version,
    clientId: `nfs4-lock-test-probe-${crypto.randomUUID()}`,
  });
  try {
    return await probe.testLock(path, range);
  } finally {
    await probe.close();
  }
}

/** Milliseconds to wait. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `text` as a literal in a RegExp. */
export function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * `nfs4 ...globals --trace=json lock URL/vfs/f -- echo ran` through `proxy`,
 * which holds the LOCK's reply back `delayMs`: resolves once the OPEN was
 * answered and the LOCK is on its way (asserted), for a signal to come
 * while it is in flight.
 */
export async function startWithLockInFlight(
  proxy: FaultProxy,
  globals: readonly string[],
  delayMs: number,
): Promise<Running> {
  proxy.delayReply("LOCK", delayMs);
  const url = `${proxy.url}/vfs/f`;
  const locker = startNfs4([...globals, "--trace=json", "lock", url, "--", "echo", "ran"]);
  // The OPEN is answered; the LOCK goes out right after it.
  await locker.waitFor("stderr", /"event":"OPEN"/);
  await sleep(250);
  assert.equal(proxy.opCount("LOCK"), 1, "the LOCK is in flight");
  return locker;
}
