/**
 * A StateManager wired to a {@linkcode ScriptedServer} with a fake clock and
 * a recorded trace, plus the few file operations the tests drive.
 *
 * ```ts
 * await using h = await harness(1);
 * const file = await h.open("file");
 * h.mark();
 * h.server.reboot();
 * await h.read(file);
 * h.steps(); // ["+SESSION_RESET", "SESSION_RESET start", ...]
 * h.ops();   // ["SEQUENCE,PUTFH,READ -> NFS4ERR_BADSESSION", "DESTROY_SESSION -> ...", ...]
 * ```
 * @module
 */

import { FakeClock, type TimerHandle } from "../../lib/state/clock.ts";
import { StateManager } from "../../lib/state/manager.ts";
import { type TraceEvent, Tracer } from "../../lib/state/trace.ts";
import type { LockRange, OpenState } from "../../lib/state/open_state.ts";
import { lockFile, openFile, unlockFile } from "../../lib/state/files.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { read, type ReadResult } from "../../lib/nfs4/ops/read.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { NFS4_UINT64_MAX } from "../../lib/nfs4/constants.ts";
import {
  formatEntry,
  ScriptedChannel,
  ScriptedServer,
  type ScriptedServerOptions,
} from "./_scripted.ts";

/**
 * A FakeClock that refuses to keep re-arming zero-delay timers at one
 * instant: a timer that re-arms itself with no delay would otherwise make
 * `advance()` spin for ever. `spins` counts the timers refused.
 */
export class GuardedClock extends FakeClock {
  spins = 0;
  #instant = -1;
  #zeroDelay = 0;

  override setTimer(fn: () => void, ms: number): TimerHandle {
    if (ms <= 0) {
      if (this.now() !== this.#instant) {
        this.#instant = this.now();
        this.#zeroDelay = 0;
      }
      if (++this.#zeroDelay > 100) {
        this.spins++;
        return { cancel() {} };
      }
    }
    return super.setTimer(fn, ms);
  }
}

/** Lets every pending promise chain run (nothing here waits on real I/O). */
export function drain(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export interface HarnessOptions extends ScriptedServerOptions {
  /** Share a server with another harness (a second client). */
  readonly server?: ScriptedServer;
  /** Slots to ask for in CREATE_SESSION. */
  readonly wantedSlots?: number;
  /** Client owner string (default `test-client`). */
  readonly ownerId?: string;
  /** Skip `start()`. */
  readonly noStart?: boolean;
  readonly recoveryTimeoutMs?: number;
  /** StateManagerOptions.callTimeoutMs (default 30 s). */
  readonly callTimeoutMs?: number;
  /** Re-take locks lost in no-grace recovery (StateManagerOptions.reacquireLostLocks). */
  readonly reacquireLostLocks?: boolean;
  /** StateManagerOptions.callback (default: enabled). */
  readonly callback?: { readonly enabled: boolean };
  /** A channel of the test's own (a ScriptedChannel that reorders or delays). */
  readonly channel?: (server: ScriptedServer) => ScriptedChannel;
}

export class Harness {
  readonly server: ScriptedServer;
  readonly channel: ScriptedChannel;
  readonly clock: GuardedClock;
  readonly m: StateManager;
  readonly trace: TraceEvent[] = [];
  #traceMark = 0;
  #logMark = 0;
  #vfs: Uint8Array | undefined;

  constructor(minorVersion: 0 | 1, options: HarnessOptions = {}) {
    this.clock = new GuardedClock();
    this.server = options.server ?? new ScriptedServer({ now: () => this.clock.now(), ...options });
    this.channel = options.channel?.(this.server) ?? new ScriptedChannel(this.server);
    const tracer = new Tracer(() => this.clock.now(), (e) => this.trace.push(e));
    this.m = new StateManager({
      channel: this.channel,
      minorVersion,
      identity: { uid: 1000, gid: 1000, gids: [], machineName: "test" },
      owner: { id: options.ownerId ?? "test-client", verifier: new Uint8Array(8).fill(7) },
      server: "scripted",
      clock: this.clock,
      tracer,
      ...(options.wantedSlots !== undefined ? { wantedSlots: options.wantedSlots } : {}),
      ...(options.recoveryTimeoutMs !== undefined
        ? { recoveryTimeoutMs: options.recoveryTimeoutMs }
        : {}),
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
      ...(options.reacquireLostLocks !== undefined
        ? { reacquireLostLocks: options.reacquireLostLocks }
        : {}),
      ...(options.callback !== undefined ? { callback: options.callback } : {}),
    });
  }

  /** Forgets the trace and op log so far: later assertions see what follows. */
  mark(): void {
    this.#traceMark = this.trace.length;
    this.#logMark = this.channel.log.length;
  }

  /** `state` and `step` events since the mark: `+CHECK_LEASE`, `CHECK_LEASE start`, ... */
  steps(): string[] {
    return this.events(["state", "step"]);
  }

  /** Events of the given categories since the mark. */
  events(categories: readonly string[]): string[] {
    return this.trace.slice(this.#traceMark)
      .filter((e) => categories.includes(e.category))
      .map((e) => e.event);
  }

  /** Events of the given categories since the mark, as `event (detail)`. */
  details(categories: readonly string[]): string[] {
    return this.trace.slice(this.#traceMark)
      .filter((e) => categories.includes(e.category))
      .map((e) => (e.detail === undefined ? e.event : `${e.event} (${e.detail})`));
  }

  /** COMPOUNDs since the mark: `SEQUENCE,PUTFH,READ`, `PUTFH,READ -> NFS4ERR_STALE_STATEID`. */
  ops(): string[] {
    return this.channel.log.slice(this.#logMark).map(formatEntry);
  }

  /** Log entries since the mark. */
  entries(): typeof this.channel.log {
    return this.channel.log.slice(this.#logMark);
  }

  /** The handle of /vfs (looked up once). */
  async vfs(): Promise<Uint8Array> {
    if (!this.#vfs) {
      const [, , fh] = await this.m.run(() => [putrootfh(), lookup("vfs"), getfh()] as const);
      this.#vfs = fh;
    }
    return this.#vfs;
  }

  /** Opens /vfs/`name` (default for reading). */
  async open(name = "file", access: number = ShareAccess.OPEN4_SHARE_ACCESS_READ) {
    const dirFh = await this.vfs();
    const opened = await openFile(this.m, { dirFh, name, path: `/vfs/${name}`, access });
    return opened.state;
  }

  /** READ through an open state, as the client layer does. */
  read(state: OpenState, offset = 0n, count = 4096): Promise<ReadResult> {
    return this.m.run(
      () => [putfh(state.fh), read({ stateid: state.stateid, offset, count })] as const,
      { states: [state] },
    ).then(([, result]) => result);
  }

  /** READ and decode the text. */
  async readText(state: OpenState): Promise<string> {
    return new TextDecoder().decode((await this.read(state)).data);
  }

  lock(state: OpenState, range: Partial<LockRange> = {}): Promise<void> {
    return lockFile(this.m, state, {
      type: range.type ?? "write",
      offset: range.offset ?? 0n,
      length: range.length ?? NFS4_UINT64_MAX,
    });
  }

  unlock(state: OpenState, range: Partial<LockRange> = {}): Promise<void> {
    return unlockFile(this.m, state, {
      type: range.type ?? "write",
      offset: range.offset ?? 0n,
      length: range.length ?? NFS4_UINT64_MAX,
    });
  }

  /** Advances the fake clock by `ms` in steps of `stepMs`, letting replies settle between. */
  async tick(ms: number, stepMs = 1000): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      await this.clock.advance(Math.min(stepMs, ms - done));
      await drain();
    }
  }

  /** Log entries since the mark as `[time, ops]`. */
  timeline(): [number, string][] {
    return this.entries().map((e) => [e.at, formatEntry(e)]);
  }

  /**
   * Advances the fake clock in steps until `promise` settles: for operations
   * that wait (DELAY and GRACE backoff, recovery retries).
   */
  async drive<T>(promise: Promise<T>, stepMs = 50, maxMs = 300_000): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => (settled = true));
    watched.catch(() => {});
    await drain();
    for (let waited = 0; !settled && waited < maxMs; waited += stepMs) {
      await this.clock.advance(stepMs);
      await drain();
    }
    if (!settled) throw new Error(`drive(): not settled after ${maxMs} ms of fake time`);
    return await watched;
  }

  /** Stops timers without telling the server (tests that already shut down are fine). */
  [Symbol.asyncDispose](): Promise<void> {
    if (!this.m.closed) this.m.abandon();
    return Promise.resolve();
  }
}

/** A started client (client ID, session and lease time established), marked. */
export async function harness(minorVersion: 0 | 1, options: HarnessOptions = {}): Promise<Harness> {
  const h = new Harness(minorVersion, options);
  if (!options.noStart) await h.m.start();
  h.mark();
  return h;
}

/** `--timeout 2` (the deadline tests): each call 2 s, each operation 8 s. */
export const TIMEOUT_2S = { callTimeoutMs: 2_000, recoveryTimeoutMs: 8_000 } as const;

/**
 * Drives `promise` to its failure (an assertion fails if it succeeds): the
 * error, and when it came (ms after `start`).
 */
export async function failureOf(
  h: Harness,
  promise: Promise<unknown>,
  start: number,
): Promise<{ error: unknown; at: number }> {
  const error = await h.drive(promise, 50, 60_000).then(
    () => {
      throw new Error("the operation succeeded");
    },
    (e: unknown) => e,
  );
  return { error, at: h.clock.now() - start };
}
