/**
 * `nfs4 renew-watch URL [--duration SECONDS] [--open] [--lock] [--json]`:
 * watch the state manager keep a lease.
 *
 * Establishes the client (and with `--open` opens the file, with `--lock`
 * also locks it, so there is state to keep), then shows each renewal with
 * its round-trip time and the lease left, server status flags, and every
 * recovery event: a server reboot, a lost session, an expired lease (for
 * example after the process was paused), and what followed. At the end it
 * checks the state still works (a READ through the lock stateid with
 * `--lock`, else the open stateid; without `--open`, a RENEW or SEQUENCE
 * that is not counted as a renewal) and releases it.
 *
 * Exit 0 when all state was kept or recovered, 1 when some was lost. When
 * stdout is closed (`| head`) the watch ends at its next line, as with
 * Ctrl-C, releases its state and exits 0.
 * @module
 */

import process from "node:process";
import { Option } from "@commander-js/extra-typings";
import type { Nfs4ClientApi, StateSummary, WritableFile } from "../lib/client/api.ts";
import { formatNfsUrl, parseNfsUrl } from "../lib/client/url.ts";
import {
  DEFAULT_TRACE_CATEGORIES,
  filteredSink,
  formatTraceJson,
  formatTraceText,
  type TraceEvent,
} from "../lib/client/trace.ts";
import type { CliContext } from "./context.ts";
import { TraceClock } from "./trace_clock.ts";
import { describeError } from "./errors.ts";
import { parseSeconds, readGlobalOptions, type RootCommand } from "./globals.ts";
import { StopSignalRepeats } from "./stop_signal.ts";

const HELP = `
Without --duration it runs until Ctrl-C. Every renewal shows its round-trip
time and how much lease is left; recovery steps show as they happen.
This report is on stdout in full whatever --trace says; --trace adds the
trace it asks for on stderr (or in --trace-file).

Exit status: 0 when all state was kept or recovered, 1 when some was lost
or could not be confirmed at the end.
A closed stdout (| head) ends the watch at its next line, with status 0.

Examples:
  $ nfs4 renew-watch --duration 20 nfs://127.0.0.1/vfs
  $ nfs4 renew-watch --open --lock nfs://server/export/shared.lock
  $ nfs4 renew-watch --open --json --duration 60 nfs://server/export/f | jq .
`;

const WHOLE_FILE = { type: "write", offset: 0n, length: 0xffff_ffff_ffff_ffffn } as const;

/**
 * The events the watch reports (on stdout): the state manager's default
 * categories (`server` comes to every sink), never `ops`, whatever --trace
 * asks for.
 */
const WATCHED: ReadonlySet<string> = new Set<string>([...DEFAULT_TRACE_CATEGORIES, "server"]);

/** Adds `renew-watch` to the program. */
export function registerRenewWatch(program: RootCommand, ctx: CliContext): void {
  program
    .command("renew-watch")
    .description("show the lease being kept, renewals and recovery, live")
    .argument("<url>", "nfs:// URL of the server (a file with --open)")
    .addOption(
      new Option("--duration <seconds>", "stop after this many seconds").argParser(parseSeconds),
    )
    .option("--open", "open the file URL names, so there is state to keep")
    .option("--lock", "also take an exclusive lock on the whole file (implies --open)")
    .option("--json", "one JSON object per event")
    .addHelpText("after", HELP)
    .action(async (urlText, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const url = parseNfsUrl(urlText);
      // The watch's report (stdout) is the same whatever --trace says: it
      // gets the default categories' events, and only those; the trace
      // (stderr or --trace-file) prints what it asked for besides, so the
      // client delivers both sets.
      const view = new WatchView(ctx, opts.json === true);
      const trace = ctx.traceOutput(globals)?.sink;
      const asked = globals.traceFilter;
      const client = await ctx.io.connect(
        url,
        globals,
        filteredSink((event) => {
          view.clock.see(event);
          if (WATCHED.has(event.category)) view.event(event);
          if (trace) view.aside(() => trace(event));
        }, {
          categories: [...new Set([...(asked?.categories ?? []), ...DEFAULT_TRACE_CATEGORIES])],
          ...(asked?.everyOp ? { everyOp: true } : {}),
        }),
      );
      let file: WritableFile | undefined;
      const stop = new AbortController();
      // The watch ends and its state is released; should that take more than
      // a second (a server gone silent), whatever is in flight is stopped.
      const repeats = new StopSignalRepeats();
      const stopSoon = (signal: "SIGINT" | "SIGTERM") => {
        // A repeat of the first SIGTERM (timeout(1) sends two) is the same stop.
        if (repeats.isRepeat(signal)) return;
        if (stop.signal.aborted) {
          // A second signal: exit now, as every command does.
          return ctx.exitNow(signal === "SIGTERM" ? 143 : 130);
        }
        stop.abort();
        setTimeout(() => ctx.stopClients(signal), 1000).unref?.();
      };
      const onInt = () => stopSoon("SIGINT");
      const onTerm = () => stopSoon("SIGTERM");
      ctx.ownsSignals = true;
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
      try {
        client.keepLease(true);
        // --duration counts from here and bounds the OPEN and LOCK too: in a
        // server's grace period NFS4ERR_GRACE is waited out only while the
        // duration leaves room, then is the answer.
        const started = performance.now();
        const left = () =>
          opts.duration === undefined
            ? undefined
            : Math.max(0, opts.duration * 1000 - (performance.now() - started));
        if (opts.open || opts.lock) {
          const within = (ms = left()) => ms === undefined ? {} : { answerWithinMs: ms };
          file = await client.open(url.path, {
            access: opts.lock ? "both" : "read",
            ...within(),
          });
          if (opts.lock) await file.lock(WHOLE_FILE, within());
        }
        view.header(formatNfsUrl(url), client.describeState());
        // A closed stdout ends the watch as Ctrl-C does; the finally releases the state.
        const until = AbortSignal.any([stop.signal, ctx.out.closed]);
        const remaining = left();
        await waitFor(
          until,
          remaining === undefined ? undefined : remaining / 1000,
          () => view.tick(client.describeState()),
        );
        // --duration is a hard limit: the check and the release that follow
        // get a second, then whatever is in flight is stopped.
        setTimeout(() => ctx.stopClients(new Error("--duration reached")), 1000).unref?.();
        ctx.out.closed.throwIfAborted(); // run() exits 0
        // The verdict's own RENEW or SEQUENCE (without --open) proves the
        // lease; it is not one of the renewals the watch counts.
        view.stopCounting();
        const verdict = await verify(client, file);
        view.verdict(verdict, client.describeState());
        if (!verdict.kept) ctx.failed = true;
      } finally {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
        view.close();
        if (file) await file.close().catch(() => {});
        await client.close().catch((e) => {
          if (globals.verbose) ctx.error(`warning: ${describeError(e, true)}`);
        });
      }
    });
}

/** Sleeps until the duration ends or the signal fires, ticking the view. */
function waitFor(
  signal: AbortSignal,
  seconds: number | undefined,
  tick: () => void,
): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(tick, 250);
    const done = () => {
      clearInterval(timer);
      clearTimeout(deadline);
      resolve();
    };
    const deadline = seconds !== undefined ? setTimeout(done, seconds * 1000) : undefined;
    if (signal.aborted) return done();
    signal.addEventListener("abort", done, { once: true });
  });
}

interface Verdict {
  readonly kept: boolean;
  readonly detail: string;
}

/**
 * Proves the state still works: a READ through the stateid I/O goes with,
 * the lock's while a lock is held (RFC 7530 §9.1.4.4, RFC 8881 §8.2.2),
 * else the open's, named as such in the verdict.
 */
async function verify(client: Nfs4ClientApi, file: WritableFile | undefined): Promise<Verdict> {
  const state = client.describeState();
  const lost = state.opens.flatMap((o) => [
    ...(o.lost ? [`${o.path}: ${o.lost}`] : []),
    ...o.locks.filter((l) => l.lost && !o.lost).map((l) => `${o.path} lock: ${l.lost}`),
  ]);
  if (lost.length > 0) return { kept: false, detail: `state lost: ${lost.join("; ")}` };
  if (!file) {
    // No state to use: the lease itself is asked about (RENEW on 4.0,
    // SEQUENCE on 4.1), never taken as kept because nothing said otherwise.
    try {
      const probe = await client.probeLease();
      return probe.answer === "NFS4_OK"
        ? { kept: true, detail: `lease kept: the server answered the renewal NFS4_OK` }
        : { kept: false, detail: `lease not kept: the renewal was answered ${probe.answer}` };
    } catch (e) {
      return { kept: false, detail: `lease not confirmed: ${describeError(e, false)}` };
    }
  }
  // As the client chooses (lib/client ioState): a lock state holding
  // ranges, with a stateid, lends it to READ; no lock is lost here.
  const open = state.opens.find((o) => o.path === file.path);
  const through = open?.locks.some((l) => l.stateid !== undefined && l.ranges.length > 0)
    ? "lock"
    : "open";
  try {
    await file.read(0n, 1);
  } catch (e) {
    return {
      kept: false,
      detail: `READ with the ${through} stateid failed: ${describeError(e, false)}`,
    };
  }
  const locks = state.opens.reduce(
    (n, o) => n + o.locks.reduce((m, l) => m + l.ranges.length, 0),
    0,
  );
  return {
    kept: true,
    detail: `state valid: READ with the ${through} stateid ok${
      locks ? `, ${locks} lock(s) held` : ""
    }`,
  };
}

/**
 * What renew-watch prints. On a terminal: event lines scroll and a status
 * line at the bottom counts the lease down. Piped: plain lines. `--json`:
 * one object per line.
 */
class WatchView {
  /** The trace's time base: the `watch` and `verdict` objects are placed among the events. */
  readonly clock = new TraceClock();
  readonly #ctx: CliContext;
  readonly #json: boolean;
  readonly #live: boolean;
  #statusShown = false;
  #renewals = 0;
  #counting = true;
  #recoveries = 0;
  #lastRtt: number | undefined;

  constructor(ctx: CliContext, json: boolean) {
    this.#ctx = ctx;
    this.#json = json;
    this.#live = !json && ctx.out.isTTY;
  }

  #print(line: string): void {
    this.aside(() => this.#ctx.out.post(line + "\n"));
  }

  /** Runs `fn` with the status line out of the way. */
  aside(fn: () => void): void {
    if (this.#statusShown) {
      this.#ctx.out.post("\r\x1b[K");
      this.#statusShown = false;
    }
    fn();
  }

  header(url: string, s: StateSummary): void {
    if (this.#json) {
      this.#print(jsonLine({ ...this.#stamp("watch"), url, ...summaryJson(s) }));
      return;
    }
    this.#print(
      `watching ${url}: NFSv4.${s.minorVersion}, clientid ${s.clientId}` +
        (s.session ? `, session ${s.session} (${s.slots} slots)` : "") +
        `, lease ${s.leaseSeconds} s (renewing every ${s.renewalSeconds.toFixed(1)} s)`,
    );
    for (const open of s.opens) {
      this.#print(`holding ${open.path}: open ${open.stateid} (${open.access})`);
      for (const lock of open.locks) {
        this.#print(`holding ${open.path}: lock ${lock.stateid} ${lock.ranges.join(", ")}`);
      }
    }
  }

  event(e: TraceEvent): void {
    if (e.category === "lease" && / ok$/.test(e.event) && this.#counting) {
      this.#renewals++;
      this.#lastRtt = typeof e.data?.rttMs === "number" ? e.data.rttMs : undefined;
    }
    if (e.category === "state" && e.event.startsWith("+") && e.event !== "+RECLAIM_REBOOT") {
      this.#recoveries++;
    }
    if (this.#json) {
      this.#print(formatTraceJson(e));
      return;
    }
    // Routine bookkeeping of the state manager stays in --trace.
    if (e.category === "owner" || e.category === "step") return;
    this.#print(formatTraceText(e));
  }

  /** Ends the count of renewals: what follows is the verdict's check. */
  stopCounting(): void {
    this.#counting = false;
  }

  /** Refreshes the live status line. */
  tick(s: StateSummary): void {
    if (!this.#live) return;
    const left = Math.max(0, s.leaseLeftMs / 1000);
    const held = s.opens.length === 0
      ? "no state"
      : `${s.opens.length} open(s), ${
        s.opens.reduce((n, o) => n + o.locks.length, 0)
      } lock owner(s)`;
    const flags = s.flags.length > 0 ? `  recovering: ${s.flags.join(" ")}` : "";
    const rtt = this.#lastRtt !== undefined ? `  last rtt ${this.#lastRtt.toFixed(1)} ms` : "";
    this.#ctx.out.post(
      `\r\x1b[K lease ${s.leaseSeconds} s  left ${
        left.toFixed(1)
      } s  renewals ${this.#renewals}${rtt}  ${held}${flags}`,
    );
    this.#statusShown = true;
  }

  verdict(v: Verdict, s: StateSummary): void {
    if (this.#json) {
      this.#print(
        jsonLine({
          ...this.#stamp("verdict"),
          kept: v.kept,
          detail: v.detail,
          renewals: this.#renewals,
          ...summaryJson(s),
        }),
      );
      return;
    }
    this.#print(`${v.kept ? "ok" : "LOST"}: ${v.detail}; ${this.#renewals} renewal(s)`);
  }

  close(): void {
    this.aside(() => {});
  }

  /**
   * The head of the watch's own objects, as a trace event's (`t`, `cat`,
   * `event`): the time on the events' time base, category `watch`.
   */
  #stamp(event: "watch" | "verdict"): { t: number; cat: "watch"; event: string } {
    return { t: Number(this.clock.seconds().toFixed(6)), cat: "watch", event };
  }
}

function summaryJson(s: StateSummary): Record<string, unknown> {
  return {
    minorVersion: s.minorVersion,
    clientid: s.clientId,
    session: s.session ?? null,
    slots: s.slots ?? null,
    leaseSeconds: s.leaseSeconds,
    opens: s.opens,
  };
}

function jsonLine(value: Record<string, unknown>): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
