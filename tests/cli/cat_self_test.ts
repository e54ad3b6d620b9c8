/**
 * `nfs4 cat URL >> FILE` where FILE is that very file seen locally (the
 * export served from this host, as in these tests): refused as GNU cat
 * refuses it, "input file is output file", where it read the file as it
 * grew and never ended.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { serverTest } from "../_server.ts";
import { messageLines, ROOT } from "./_spawn.ts";

serverTest(
  "nfs4 cat URL >> the same file seen locally: 'input file is output file', exit 1, the file unchanged; the other operands still print",
  async (server) => {
    const local = `${server.exportDir}/log`;
    await fs.writeFile(local, "line\n");
    await fs.writeFile(`${server.exportDir}/other`, "other\n");
    for (const vers of ["4.0", "4.1"]) {
      const url = `${server.url}/vfs/log`;
      const r = await new Deno.Command("sh", {
        args: [
          "-c",
          `exec "$0" run -A cli/main.ts --vers ${vers} cat '${url}' '${server.url}/vfs/other' >> '${local}'`,
          Deno.execPath(),
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
      assert.equal(r.code, 1);
      assert.deepEqual(messageLines(new TextDecoder().decode(r.stderr)), [
        `nfs4: ${url}: input file is output file`,
      ]);
      assert.match(await fs.readFile(local, "utf8"), /^line\n(other\n)+$/);
      // After another operand has grown it: still the same file.
      const after = await new Deno.Command("sh", {
        args: [
          "-c",
          `exec "$0" run -A cli/main.ts --vers ${vers} cat '${server.url}/vfs/other' '${url}' >> '${local}'`,
          Deno.execPath(),
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
      assert.equal(after.code, 1);
      assert.deepEqual(messageLines(new TextDecoder().decode(after.stderr)), [
        `nfs4: ${url}: input file is output file`,
      ]);
    }
    // Not appending: a plain copy to another file goes ahead.
    const out = `${server.exportDir}/copy`;
    const plain = await new Deno.Command("sh", {
      args: [
        "-c",
        `exec "$0" run -A cli/main.ts cat '${server.url}/vfs/other' >> '${out}'`,
        Deno.execPath(),
      ],
      cwd: ROOT,
      stderr: "piped",
    }).output();
    assert.equal(plain.code, 0, new TextDecoder().decode(plain.stderr));
    assert.equal(await fs.readFile(out, "utf8"), "other\n");
  },
);
