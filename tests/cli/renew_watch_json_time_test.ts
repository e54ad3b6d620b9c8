/**
 * `nfs4 renew-watch --json`: the watch's own objects (`watch`, what is
 * watched and held; `verdict`, the end's check) carry `t` on the trace
 * events' time base and a category, `watch`, as the events between them
 * do, so a reader can place them in time among the renewals and recovery
 * (h6 finding 15). Before, they had neither `t` nor `cat`. Their fields are
 * kept as they were (`event`, `url`, `clientid`, `opens`, `kept`,
 * `detail`, `renewals`...).
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

interface JsonLine {
  t?: number;
  cat?: string;
  event: string;
  [field: string]: unknown;
}

for (const vers of ["4.0", "4.1"]) {
  serverTest(
    `renew-watch --json on NFSv${vers}: the watch and verdict objects have t (the trace's time base) and cat "watch", in order among the events (RFC 7530 §9.5 / RFC 8881 §8.3 renewals between them)`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "x");
      const r = await nfs4([
        "--vers",
        vers,
        "renew-watch",
        "--open",
        "--json",
        "--duration",
        "2",
        `${server.url}/vfs/f`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n").filter((l) => l !== "").map((l) =>
        JSON.parse(l) as JsonLine
      );
      const watch = lines.findIndex((l) => l.event === "watch");
      const verdict = lines.findIndex((l) => l.event === "verdict");
      assert.ok(watch > 0 && verdict > watch, r.stdout);
      for (const i of [watch, verdict]) {
        const line = lines[i]!;
        assert.equal(line.cat, "watch", JSON.stringify(line));
        assert.equal(typeof line.t, "number", JSON.stringify(line));
      }
      // What they said before is still there.
      assert.equal(lines[watch]!.url, `${server.url}/vfs/f`);
      assert.match(String(lines[watch]!.clientid), /^0x[0-9a-f]{16}$/);
      assert.equal((lines[watch]!.opens as unknown[]).length, 1);
      assert.equal(lines[verdict]!.kept, true);
      assert.equal(typeof lines[verdict]!.renewals, "number");
      assert.match(String(lines[verdict]!.detail), /^state valid: READ with the open stateid ok/);
      // One time base: every line's t, the watch's own included, in order.
      const times = lines.map((l) => l.t);
      assert.ok(times.every((t) => typeof t === "number"), r.stdout);
      for (let i = 1; i < times.length; i++) {
        assert.ok(times[i]! >= times[i - 1]!, `line ${i} goes back in time:\n${r.stdout}`);
      }
      // A renewal (the lease is 2 s) falls between the two, by time too.
      const renewal = lines.findIndex((l, i) =>
        i > watch && i < verdict && l.cat === "lease" && / ok$/.test(l.event)
      );
      assert.ok(renewal > watch, r.stdout);
    },
    { leaseSeconds: 2 },
  );
}
