/**
 * `-h` of the coreutils commands that give it a meaning: touch's
 * (--no-dereference) is not there, so `nfs4 touch -h` is a usage error as
 * every option not there is (exit 2, one line naming it), where it printed
 * the help and exited 0; `--help` still helps. ls, du and df take `-h` as
 * coreutils does: human-readable sizes.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

serverTest(
  "touch -h is a usage error; touch --help helps; ls -h, du -h, df -h are human-readable",
  async (server) => {
    writeFileSync(join(server.exportDir, "big"), new Uint8Array(300 * 1024));
    const url = `${server.url}/vfs`;

    for (const args of [["-h"], ["-ch"], ["--no-dereference"]]) {
      const r = await nfs4(["touch", ...args, `${url}/big`]);
      assert.equal(r.code, 2, `touch ${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: unknown option '${args[0] === "--no-dereference" ? args[0] : "-h"}'`,
      ]);
    }
    const help = await nfs4(["touch", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: nfs4 touch /);
    assert.match(help.stdout, /--help +show help/);

    const ls = await nfs4(["ls", "-lh", `${url}/big`]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, / 300K /);
    const du = await nfs4(["du", "-sh", url]);
    assert.equal(du.code, 0, du.stderr);
    assert.match(du.stdout, /^[0-9.]+[KMG]\t/);
    const df = await nfs4(["df", "-h", url]);
    assert.equal(df.code, 0, df.stderr);
    assert.match(df.stdout, /^Filesystem +Size +Used +Avail +Use% +Mounted on\n/);
  },
);
