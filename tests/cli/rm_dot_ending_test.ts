/**
 * `nfs4 rm` of a URL whose last component is `.` or `..` with a symlink
 * before it, against GNU rm on a local copy of the same tree
 * (tests/cli/_tree_ops.ts), on NFSv4.0 and 4.1. The URL's path is resolved
 * lexically (`lnk/a/..` is `lnk`, RFC 3986 §5.2.4), so rm must judge the
 * operand by the text typed: GNU refuses it by its last component whatever
 * it leads to, and the symlink `lnk` stays.
 */

import * as fs from "node:fs/promises";
import { cpServerTest, tempDir, VERSIONS } from "./_cp.ts";
import { compareRow, type Row } from "./_tree_ops.ts";

const ROWS: readonly Row[] = [
  {
    name: "-r of LINK/DIR/.. is refused, the link stays",
    cmd: "rm",
    args: ["-r", "@lnk/a/.."],
    code: 1,
  },
  {
    name: "-rf of LINK/DIR/.. too, the others still go",
    cmd: "rm",
    args: ["-rfv", "@lnk/a/..", "@f"],
    code: 1,
  },
  { name: "without -r it is a directory", cmd: "rm", args: ["@lnk/a/.."], code: 1 },
  { name: "-r of LINK/. is refused", cmd: "rm", args: ["-r", "@lnk/."], code: 1 },
];

cpServerTest(
  "nfs4 rm refuses LINK/DIR/.. as coreutils rm does (4.0 and 4.1)",
  async (server, t) => {
    const local = await tempDir("nfs4-rm-dot-test-");
    try {
      for (const vers of VERSIONS) {
        for (const [i, row] of ROWS.entries()) {
          await t.step(`--vers ${vers} rm ${row.args.join(" ")}: ${row.name}`, async () => {
            await compareRow(server, vers, local, `rmdot${i}-${vers}`, row);
          });
        }
      }
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
