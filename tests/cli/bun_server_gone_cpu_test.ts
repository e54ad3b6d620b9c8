/**
 * Under Bun, a command whose operation waits to resend to a server that has
 * gone sleeps while it waits: it does not spin (F1, cli/main.ts
 * `holdEventLoop`). With the connection refused there is no socket left,
 * and the state manager's resend wait (RFC 7530 §3.1.1, RFC 8881 §2.9.2:
 * the same request again, once connected) is an unref'd timer; Bun then
 * polled its event loop at up to 100% of a core, `nfs4 tail -f` at 70-100
 * clock ticks a second, until the server came back or the command ended.
 *
 * The bound is on CPU time, not on how long anything takes: 0.3 CPU-s over
 * 3 s of waiting, where the spin used 2-3 s and a waiting command uses
 * about 0.01.
 */

import { existsSync } from "node:fs";
import { assertWaitsWithoutSpinning } from "../_process_cpu.ts";
import { serverTest } from "../_server.ts";
import { ROOT } from "./_spawn.ts";

const bun = `${ROOT}.tools/bun/node_modules/.bin/bun`;

serverTest(
  "nfs4 under Bun: an operation resent to a server gone (connection refused, RFC 7530 §3.1.1) waits without spinning",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/tf`, "line\n");
    await assertWaitsWithoutSpinning({
      bun,
      args: ["cli/main.ts", "--trace", "tail", "-f", `${server.url}/vfs/tf`],
      cwd: ROOT,
      ready: /line\n/,
      crash: () => server.crash(),
    });
  },
  { ignore: !existsSync(bun) },
);
