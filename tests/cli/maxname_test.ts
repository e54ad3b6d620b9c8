/**
 * A name is held to the maxname of the file system it is looked up or made
 * in (RFC 7530 §5.8.2, RFC 8881 §5.8.2; lib/client/fs_traits.ts), not to
 * what the pseudo-fs root says. Ganesha's pseudo-fs root and its /mem say
 * 255 bytes, its VFS export /vfs says 1024: a 300-byte name under /vfs is
 * sent, and the answer (NFS4ERR_NAMETOOLONG: the directory behind the
 * export is on a file system of 255-byte names) is the server's, seen as
 * the op that failed in `--trace=ops`; under /mem, or past 1024 bytes
 * under /vfs, the client refuses it with the same words, nothing sent.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

const TOO_LONG = "File name too long (NFS4ERR_NAMETOOLONG)";

/** The `--trace=ops` lines of `stderr` where an op failed with NFS4ERR_NAMETOOLONG. */
function refusedBy(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.includes(" ops ") && l.includes("NFS4ERR_NAMETOOLONG"));
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 --vers ${vers}: a name is held to its own file system's maxname: 300 bytes reach /vfs (1024), not /mem (255) (Ganesha)`,
    async (server) => {
      const n300 = "n".repeat(300);
      const n1100 = "m".repeat(1100);
      const u = server.url;
      const rows: { args: string[]; url: string; sent?: RegExp }[] = [
        {
          args: ["ls", `${u}/vfs/${n300}`],
          url: `${u}/vfs/${n300}`,
          sent: / LOOKUP NFS4ERR_NAMETOOLONG/,
        },
        {
          args: ["mkdir", `${u}/vfs/${n300}`],
          url: `${u}/vfs/${n300}`,
          sent: / CREATE NFS4ERR_NAMETOOLONG/,
        },
        { args: ["ls", `${u}/vfs/${n1100}`], url: `${u}/vfs/${n1100}` },
        { args: ["ls", `${u}/mem/${n300}`], url: `${u}/mem/${n300}` },
        { args: ["mkdir", `${u}/mem/${n300}`], url: `${u}/mem/${n300}` },
      ];
      for (const { args, url, sent } of rows) {
        const r = await nfs4(["--vers", vers, "--trace=ops", ...args]);
        const what = `nfs4 ${args[0]} ${url.slice(0, 60)}…`;
        assert.equal(r.code, 1, `${what}: ${r.stderr}`);
        assert.deepEqual(messageLines(r.stderr).filter((l) => l.startsWith("nfs4:")), [
          `nfs4: ${url}: ${TOO_LONG}`,
        ], what);
        const refused = refusedBy(r.stderr);
        if (sent) {
          // The server's answer: the name went out.
          assert.equal(refused.length, 1, `${what}: ${r.stderr}`);
          assert.match(refused[0]!, sent, what);
        } else {
          // The client's: longer than that file system takes, never sent.
          assert.deepEqual(refused, [], what);
        }
      }
    },
  );
}
