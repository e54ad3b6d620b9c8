/**
 * `nfs4 shell` reading its lines from a pipe whose writer stays open (a
 * program driving it): SIGTERM and SIGHUP end it as they end any command,
 * its lock released, where it went on waiting for the next line, deaf to
 * both. SIGHUP (the terminal closed) ends it 129.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { serverTest } from "../_server.ts";
import { nfs4, ROOT } from "./_spawn.ts";

serverTest(
  "nfs4 shell with its script pipe held open: SIGTERM exits 143, SIGHUP 129, the lock released either way",
  async (server) => {
    writeFileSync(`${server.exportDir}/f`, "data\n");
    const url = `${server.url}/vfs/f`;
    for (const [signal, code] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "cli/main.ts", "shell", `${server.url}/vfs`],
        cwd: ROOT,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("lock -x f\n"));
      const ended = child.output();
      // Held: another client is refused.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const probe = await nfs4(["lock", "--test", url]);
        if (probe.code === 1) break;
        assert.ok(Date.now() < deadline, "the shell never took the lock");
        await new Promise((r) => setTimeout(r, 200));
      }
      child.kill(signal);
      const backstop = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const out = await ended;
      clearTimeout(backstop);
      await writer.close().catch(() => {});
      assert.equal(out.code, code, new TextDecoder().decode(out.stderr));
      const after = await nfs4(["lock", "-n", url, "--", "true"]);
      assert.equal(after.code, 0, `released: ${after.stderr}`);
    }
  },
);
