/**
 * A process stopped past its lease (SIGSTOP, a laptop asleep): when it runs
 * again, both the renewal timer and the lease watch find the lease ran out
 * by this client's clock (RFC 7530 §9.6.3, RFC 8881 §8.3). The trace says
 * it once, in the words that tell why (the timer fired late: this process
 * did not run), and the lock lost with it takes those words; what recovery
 * later says of the lock gives both times, when the lease ended and when
 * that was noticed, rather than back-date a reason measured at the second.
 */

import assert from "node:assert/strict";
import { type Clock, FakeClock, type TimerHandle } from "../../lib/state/clock.ts";
import { StateManager } from "../../lib/state/manager.ts";
import { type TraceEvent, Tracer } from "../../lib/state/trace.ts";
import { lockFile, openFile } from "../../lib/state/files.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { ScriptedChannel, ScriptedServer } from "./_scripted.ts";
import { drain } from "./_harness.ts";

/** A fake clock whose process can be stopped: time goes on, no timer fires meanwhile. */
class StoppableClock implements Clock {
  readonly fake = new FakeClock();
  #stopped = false;
  readonly #late: (() => void)[] = [];
  now(): number {
    return this.fake.now();
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    return this.fake.setTimer(() => this.#stopped ? this.#late.push(fn) : fn(), ms);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const stop = () => {
        timer.cancel();
        reject(signal!.reason);
      };
      const timer = this.setTimer(() => {
        signal?.removeEventListener("abort", stop);
        resolve();
      }, ms);
      signal?.addEventListener("abort", stop, { once: true });
    });
  }
  /** `ms` pass with this process stopped; then every timer due meanwhile fires, late. */
  async stop(ms: number, meanwhile: () => void): Promise<void> {
    this.#stopped = true;
    await this.fake.advance(ms);
    meanwhile();
    this.#stopped = false;
    // All at once, as an event loop runs the timers overdue before any
    // reply (I/O) is read.
    for (const fn of this.#late.splice(0)) fn();
    await drain();
  }
  async tick(ms: number, stepMs = 100): Promise<void> {
    for (let done = 0; done < ms; done += stepMs) {
      await this.fake.advance(Math.min(stepMs, ms - done));
      await drain();
    }
  }
}

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: a process stopped past its lease says 'lease ran out locally' once, why (the timer fired late), and the lock lost takes those words (RFC ${
      minor === 0 ? "7530 §9.6.3" : "8881 §8.3"
    })`,
    async () => {
      const clock = new StoppableClock();
      const server = new ScriptedServer({ now: () => clock.now(), leaseTime: 10 });
      const trace: TraceEvent[] = [];
      const m = new StateManager({
        channel: new ScriptedChannel(server),
        minorVersion: minor,
        identity: { uid: 1000, gid: 1000, gids: [], machineName: "test" },
        owner: { id: "test-client", verifier: new Uint8Array(8).fill(7) },
        server: "scripted",
        clock,
        tracer: new Tracer(() => clock.now(), (e) => trace.push(e)),
      });
      try {
        await m.start();
        const [, , dirFh] = await m.run(() => [putrootfh(), lookup("vfs"), getfh()] as const);
        const { state } = await openFile(m, {
          dirFh,
          name: "file",
          path: "/vfs/file",
          access: ShareAccess.OPEN4_SHARE_ACCESS_BOTH,
        });
        await lockFile(m, state, { type: "write", offset: 0n, length: 10n });
        await clock.tick(1_000);
        // Stopped for 25 s: the server restarted meanwhile.
        await clock.stop(25_000, () => server.reboot());
        await clock.tick(2_000);

        const ranOut = trace.filter((e) => e.event === "lease ran out locally");
        assert.equal(
          ranOut.length,
          1,
          ranOut.map((e) => `${e.time} ${e.event} (${e.detail})`).join("\n"),
        );
        assert.match(
          ranOut[0]!.detail ?? "",
          /^no renewal answered for [0-9.]+ s with a 10 s lease; no renewal failed meanwhile; the renewal timer fired [0-9.]+ s late: this process did not run$/,
        );
        const lost = trace.filter((e) => e.event === "lock lost");
        assert.equal(lost.length, 1);
        assert.equal(lost[0]!.data?.["reason"], `lease ran out locally: ${ranOut[0]!.detail}`);

        // Recovery (a reboot reclaim) leaves the lock lost, and
        // says when the lease ended and when that was found out.
        const notReclaimed = trace.find((e) =>
          e.category === "lock" && e.event === "not reclaimed"
        );
        assert.ok(notReclaimed, trace.map((e) => `${e.event} (${e.detail})`).join("\n"));
        const ended = (1_000 + 10_000) / 1000;
        assert.match(
          notReclaimed.detail ?? "",
          new RegExp(
            `^/vfs/file write 0-9: lease ended at ([0-9.]+) s, noticed at ([0-9.]+) s \\(lease ran out locally: .*this process did not run\\)$`,
          ),
        );
        const [, endedAt, noticedAt] = /lease ended at ([0-9.]+) s, noticed at ([0-9.]+) s/.exec(
          notReclaimed.detail!,
        )!;
        assert.ok(Number(endedAt) <= ended + 0.01, notReclaimed.detail!);
        assert.ok(Number(noticedAt) >= 26, notReclaimed.detail!);
        assert.equal(Number(noticedAt), lost[0]!.time);
        // The flag that starts the reclaim comes first, then what it leaves
        // out; its count is of what it will reclaim (the open; the lock is lost).
        const flag = trace.findLastIndex((e) => e.event === "+RECLAIM_REBOOT");
        assert.ok(flag >= 0 && flag < trace.indexOf(notReclaimed), "+RECLAIM_REBOOT first");
        assert.match(trace[flag]!.detail ?? "", /; 1 open\(s\) to reclaim$/);
      } finally {
        m.abandon();
      }
    },
  );
}
