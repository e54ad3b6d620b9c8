/**
 * The rule "a second signal exits at once" (README, "Deadlines and
 * signals"), told apart from a repeat of the first signal, for every place
 * that applies it (cli/main.ts for the commands that leave signals to the
 * CLI, cli/lock.ts, cli/renew_watch.ts).
 *
 * A second Ctrl-C is a person asking again: nfs4 stops waiting for the
 * server and exits. SIGTERM and SIGHUP are sent by programs, and often
 * twice for one stop: GNU timeout(1) signals its child and then the child's
 * whole process group (`send_sig (monitored_pid, sig); send_sig (0, sig)`),
 * `kill -- -PGID` after a `kill PID` does the same, and a closing terminal
 * hangs up the foreground group while the shell passes SIGHUP on to its
 * jobs. Taken as a second request, such a repeat skipped the release of
 * the very stop it repeats: a LOCK in flight granted and left held for the
 * whole lease, a `cp` temporary left on the server.
 * @module
 */

/**
 * How long after the first SIGTERM or SIGHUP another of them is the same
 * stop. timeout(1)'s two kills are microseconds apart, but the runtime hands
 * them to the handler from its event loop, which on a loaded host (or one
 * busy with a large copy) can be tens to hundreds of milliseconds late; a
 * second apart is still far inside the 3 s the stop may take
 * (cli/main.ts STOP_BACKSTOP_MS), so a later SIGTERM still means "now".
 */
export const SAME_STOP_MS = 1_000;

/** The signals programs send to stop a process, which may come twice for one stop. */
const AUTOMATED: ReadonlySet<string> = new Set(["SIGTERM", "SIGHUP"]);

/**
 * Remembers the first SIGTERM or SIGHUP of a process (or of one command's
 * subscription to them) and says whether a later one repeats it.
 */
export class StopSignalRepeats {
  readonly #now: () => number;
  /** When the first SIGTERM or SIGHUP came. */
  #firstAutomatedAt: number | undefined;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Whether `signal` repeats the first stop signal programs send (true:
   * ignore it, the stop under way is the answer): a SIGTERM or SIGHUP within
   * SAME_STOP_MS of the first SIGTERM or SIGHUP. A SIGINT is never one (a
   * person pressing Ctrl-C again) and does not count as the first: in
   * `nfs4 shell` a SIGINT stops a verb only, and `timeout`'s two SIGTERMs
   * after it are one stop all the same.
   */
  isRepeat(signal: string): boolean {
    if (!AUTOMATED.has(signal)) return false;
    const now = this.#now();
    const first = this.#firstAutomatedAt;
    if (first === undefined) {
      this.#firstAutomatedAt = now;
      return false;
    }
    return now - first < SAME_STOP_MS;
  }
}
