/**
 * `nfs4 shell`'s `state` never writes a name's control characters raw: an
 * escape sequence in a file name would drive the terminal, and a newline
 * would break the record's lines. On a terminal a path is written as the
 * prompt and `pwd` write it (`\033`), elsewhere with `\xHH`; `state --json`
 * keeps the name as it is.
 */

import assert from "node:assert/strict";
import type { StateSummary } from "../../lib/client/api.ts";
import { formatState } from "../../cli/shell_builtins.ts";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

const NAME = "a\x1b[31mred\nb";

function summary(path: string): StateSummary {
  return {
    server: "127.0.0.1:2049",
    minorVersion: 1,
    clientId: "0x6b00000100000001",
    ownerId: "nfs4-ts/host/uid0/0",
    session: "01000000",
    slots: 32,
    leaseSeconds: 60,
    renewalSeconds: 40,
    leaseLeftMs: 50_000,
    flags: [],
    opens: [{
      path,
      stateid: "01:1",
      owner: "open-u0-2",
      access: "read+write",
      lost: `recovery failed: ${path}: NFS4ERR_NOENT`,
      delegation: undefined,
      locks: [{ owner: "lock-p1-3", stateid: "02:1", ranges: ["write 0-"], lost: undefined }],
    }],
  } as unknown as StateSummary;
}

Deno.test("formatState() writes no control character of a path or a loss's reason raw", () => {
  for (const terminal of [true, false]) {
    const text = formatState(summary(`/vfs/${NAME}`), { terminal });
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(text.replaceAll("\n", ""), /[\x00-\x1f\x7f]/, JSON.stringify(text));
    const open = text.split("\n").find((l) => l.startsWith("open "));
    assert.ok(open, text);
    assert.ok(
      open.includes(terminal ? "/vfs/a\\033[31mred\\nb" : "/vfs/a\\x1b[31mred\\x0ab"),
      JSON.stringify(open),
    );
    assert.ok(open.includes("LOST: recovery failed: /vfs/a\\x1b[31mred\\x0ab"), open);
    // One line per open and per lock: the newline in the name broke none.
    assert.equal(text.split("\n").filter((l) => /^ {2}lock /.test(l)).length, 1, text);
  }
});

serverTest(
  "nfs4 shell -c 'open …; state': a name with an escape sequence and a newline is escaped, --json keeps it",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/${NAME}`, "x");
    const url = `${server.url}/vfs`;
    const r = await nfs4([
      "--vers",
      "4.1",
      "shell",
      url,
      "-c",
      `open ${url}/a%1B%5B31mred%0Ab; state; state --json`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [text, json] = r.stdout.split(/\n(?=\{)/);
    assert.ok(!text!.includes("\x1b"), JSON.stringify(r.stdout));
    assert.match(text!, /^open {8}\/vfs\/a\\x1b\[31mred\\x0ab {2}read {2}stateid /m);
    const parsed = JSON.parse(json!) as StateSummary;
    assert.equal(parsed.opens[0]?.path, `/vfs/${NAME}`);
  },
);
