/**
 * `nfs4 renew-watch` ends its watch at SIGINT (exit 0 when the state was
 * kept) and then releases what it holds; a second SIGINT while that is still
 * under way (here: the server went silent) exits at once with 130, as every
 * command does.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { sleep, startNfs4 } from "./_lock.ts";

serverTest(
  "nfs4 renew-watch: a second SIGINT while the watch's end waits on a silent server exits at once",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    const watcher = startNfs4(["renew-watch", "--open", `${proxy.url}/vfs/f`]);
    await watcher.waitFor("stdout", /holding \/vfs\/f: open/);
    proxy.setMode("silent");
    watcher.kill("SIGINT");
    await sleep(300);
    const second = performance.now();
    watcher.kill("SIGINT");
    const ended = await watcher.done;
    assert.equal(ended.code, 130, ended.stderr);
    // Without it, the release went on to the end of its window (2.5 s after the first).
    assert.ok(
      ended.endedAt - second < 1_000,
      `exited ${Math.round(ended.endedAt - second)} ms after the second SIGINT`,
    );
  },
);
