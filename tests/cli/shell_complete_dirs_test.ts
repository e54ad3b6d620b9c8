/**
 * The shell's Tab completion after `cd` (remote) and `lcd` (local) offers
 * directories, and links that may lead to one, not plain files, as bash's
 * cd completion does; other verbs still get every name.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { Nfs4ClientApi } from "../../lib/client/api.ts";
import { completeLine } from "../../cli/shell_complete.ts";

/** A client whose only use here is a READDIR of `/dirs-test` listing `entries`. */
function clientListing(entries: { name: string; kind: string; linkTarget?: string }[]) {
  return {
    async *readdir(path: string) {
      assert.equal(path, "/dirs-test");
      for (const e of entries) yield { path: `${path}/${e.name}`, ...e };
    },
  } as unknown as Nfs4ClientApi;
}

Deno.test("completeLine() offers cd directories and links, not files", async () => {
  const shell = {
    client: clientListing([
      { name: "docs", kind: "directory" },
      { name: "data.txt", kind: "file" },
      { name: "dlink", kind: "symlink", linkTarget: "docs" },
      { name: "dev", kind: "directory" },
    ]),
    cwd: "/dirs-test",
    optionsOf: () => [],
  };
  const [cd] = await completeLine(shell, "cd d");
  assert.deepEqual(cd, ["dev/", "dlink", "docs/"]);
  // cat is given every name (the listing is reused).
  const [cat] = await completeLine(shell, "cat d");
  assert.deepEqual(cat, ["data.txt", "dev/", "dlink", "docs/"]);
});

Deno.test("completeLine() offers lcd local directories only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nfs4-lcd-complete-" });
  try {
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "some.txt"), "x");
    const shell = { client: clientListing([]), cwd: "/dirs-test", optionsOf: () => [] };
    const [lcd] = await completeLine(shell, `lcd ${dir}/s`);
    assert.deepEqual(lcd, [`${dir}/sub/`]);
    const [put] = await completeLine(shell, `put ${dir}/s`);
    assert.deepEqual(put, [`${dir}/some.txt`, `${dir}/sub/`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
