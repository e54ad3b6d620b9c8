/**
 * A library program under Bun whose operation waits to resend to a server
 * that has gone sleeps while it waits (StateManager.run() holds the event
 * loop, lib/os/timers.ts holdEventLoop). With the connection refused there
 * is no socket left, and the resend wait (RFC 7530 §3.1.1, RFC 8881
 * §2.9.2) is an unref'd timer: Bun polled its event loop at up to 100% of a
 * core until the server came back (and Node ended such a program, exit 13,
 * with the operation pending). The CLI's own hold (cli/main.ts) is not in
 * play here: this is mod.ts alone.
 *
 * The bound is on CPU time, not on how long anything takes: 0.3 CPU-s over
 * 3 s of waiting, where the spin used 2-3 s.
 */

import { existsSync } from "node:fs";
import { assertWaitsWithoutSpinning } from "../_process_cpu.ts";
import { serverTest } from "../_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const bun = `${ROOT}.tools/bun/node_modules/.bin/bun`;

/** Each wait a program awaits: an operation (run()), and a lease probe (recovery waits and a renewal outside run()). */
const WAITS = [
  ["stat", "an operation (stat) resent to a server gone (connection refused, RFC 7530 §3.1.1)"],
  [
    "probe",
    "a lease probe (probeLease: recovery waits and a renewal outside run()) resent to a server gone",
  ],
] as const;

for (const [how, what] of WAITS) {
  serverTest(
    `a library program under Bun: ${what} waits without spinning`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/${how}`, "line\n");
      await assertWaitsWithoutSpinning({
        bun,
        args: [
          "tests/client/_bun_library_wait.ts",
          "127.0.0.1",
          String(server.port),
          `/vfs/${how}`,
          how,
        ],
        cwd: ROOT,
        ready: new RegExp(`opened /vfs/${how}\n`),
        crash: () => server.crash(),
      });
    },
    { ignore: !existsSync(bun) },
  );
}
