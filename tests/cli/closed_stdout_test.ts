/**
 * Every command piped into `head -c1` (a real shell pipeline against
 * Ganesha): it exits 0 once its stdout is closed, prints no message and no
 * "Uncaught", stops promptly, and leaves nothing on the server: each OPEN
 * closed, each lock unlocked, and on 4.1 its session and client ID
 * destroyed (issue 14, item 6).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { serverTest, type TestServer } from "../_server.ts";
import { startHolder, stopHolder } from "./_lock.ts";
import {
  destroyClientIdStatus,
  exclusiveOpenStatus,
  intoHead,
  messageLines,
  traceClientId,
  traceEvents,
  type TraceLine,
} from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;
type Version = (typeof VERSIONS)[number];

/**
 * The export's contents: enough output that the pipe (64 KiB) fills, so
 * each command really writes into a closed stdout.
 */
function populate(server: TestServer): void {
  const root = server.exportDir;
  fs.mkdirSync(`${root}/many`);
  for (let i = 0; i < 2500; i++) {
    fs.writeFileSync(`${root}/many/${"entry-with-a-longish-name-".padEnd(40, "x")}${i}`, "");
  }
  fs.mkdirSync(`${root}/tree`);
  for (let d = 0; d < 40; d++) {
    fs.mkdirSync(`${root}/tree/dir${d}`);
    for (let f = 0; f < 40; f++) fs.writeFileSync(`${root}/tree/dir${d}/file-${f}`, "");
  }
  const big = new Uint8Array(32 << 20).fill(0x61);
  fs.writeFileSync(`${root}/big`, big);
  fs.writeFileSync(`${root}/small`, "small\n");
  fs.writeFileSync(`${root}/drill`, "");
}

/** One command of the table. */
interface Row {
  /** Arguments after the global options; `u` is `nfs://127.0.0.1:PORT/vfs`. */
  args: (u: string) => string[];
  /** Files it opened: another client's exclusive open of each must be granted afterwards. */
  files?: string[];
  /** Whether it connects as one client and traces (checks on its client ID and opens). */
  traced?: boolean;
}

const ROWS: Record<string, Row> = {
  "ls": { args: (u) => ["ls", `${u}/many`], traced: true },
  "ls -l": { args: (u) => ["ls", "-l", `${u}/many`], traced: true },
  "ls -R": { args: (u) => ["ls", "-R", u], traced: true },
  "ls --json": { args: (u) => ["ls", "--json", `${u}/tree`], traced: true },
  "cat": { args: (u) => ["cat", `${u}/big`], files: ["/vfs/big"], traced: true },
  "cp to -": { args: (u) => ["cp", `${u}/big`, "-"], files: ["/vfs/big"], traced: true },
  "lock -- seq": {
    args: (u) => ["lock", `${u}/small`, "--", "seq", "1", "10000000"],
    files: ["/vfs/small"],
    traced: true,
  },
  "lock --test": { args: (u) => ["lock", "--test", `${u}/small`], traced: true },
  "renew-watch --json --open --lock": {
    args: (u) => ["renew-watch", "--json", "--open", "--lock", `${u}/small`],
    files: ["/vfs/small"],
    traced: true,
  },
  "simulate-reboot --client --json": {
    args: (u) => ["simulate-reboot", "--client", "--json", `${u}/drill`],
    files: ["/vfs/drill"],
  },
  "simulate-reboot --client": {
    args: (u) => ["simulate-reboot", "--client", `${u}/drill`],
    files: ["/vfs/drill"],
  },
  "completions bash": { args: () => ["completions", "bash"] },
  "--help": { args: () => ["--help"] },
  "ls --help": { args: () => ["ls", "--help"] },
};

/** The server holds nothing of a command that has exited. */
async function assertReleased(
  server: TestServer,
  vers: Version,
  row: Row,
  events: TraceLine[],
  what: string,
): Promise<void> {
  for (const path of row.files ?? []) {
    assert.equal(await exclusiveOpenStatus(server, vers, path), "NFS4_OK", `${what}: ${path}`);
  }
  if (!row.traced) return;
  const stateid = (e: TraceLine, field: string) => String(e[field] ?? "").split(":")[0] ?? "";
  const opened = events.filter((e) => e.cat === "open" && e.event === "OPEN");
  const closed = events.filter((e) => e.cat === "open" && e.event === "CLOSE");
  assert.equal(closed.length, opened.length, `${what}: a CLOSE for every OPEN`);
  for (const open of opened) {
    const other = stateid(open, "stateid");
    assert.ok(closed.some((c) => String(c.detail).includes(other)), `${what}: CLOSE of ${other}`);
  }
  const locks = events.filter((e) =>
    e.cat === "lock" && e.event === "LOCK" && e["newLockOwner"] === true
  );
  const unlocks = events.filter((e) => e.cat === "lock" && e.event === "LOCKU");
  assert.equal(unlocks.length, locks.length, `${what}: a LOCKU for every lock`);
  const names = events.map((e) => e.event);
  if (vers === "4.1") {
    assert.ok(names.includes("DESTROY_SESSION ok"), `${what}: DESTROY_SESSION`);
    const clientId = traceClientId(events);
    assert.equal(await destroyClientIdStatus(server, clientId), "NFS4ERR_STALE_CLIENTID", what);
  }
}

for (const vers of VERSIONS) {
  serverTest(
    `every command --vers ${vers} piped into head -c1 exits 0, says nothing and releases its state`,
    async (server) => {
      populate(server);
      const u = `${server.url}/vfs`;
      for (const [name, row] of Object.entries(ROWS)) {
        const what = `nfs4 ${name} | head -c1`;
        const globals = row.traced ? ["--vers", vers, "--trace=json"] : ["--vers", vers];
        const r = await intoHead([...globals, ...row.args(u)]);
        assert.equal(r.code, 0, `${what}: exit status; stderr: ${r.stderr}`);
        assert.deepEqual(messageLines(r.stderr), [], what);
        assert.ok(r.ms < server.leaseSeconds * 1000, `${what}: ended after ${r.ms} ms`);
        await assertReleased(server, vers, row, traceEvents(r.stderr), what);
      }
    },
  );
}

serverTest(
  "renew-watch without --duration piped into head -c1 stops by itself, exits 0 and releases the lock",
  async (server) => {
    fs.writeFileSync(`${server.exportDir}/small`, "small\n");
    const u = `${server.url}/vfs`;
    // Text output, which it writes as events happen: the first line after
    // head has gone ends the watch, as Ctrl-C would.
    const r = await intoHead(["--vers", "4.1", "renew-watch", "--open", "--lock", `${u}/small`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(messageLines(r.stderr), []);
    assert.ok(r.ms < server.leaseSeconds * 1000 + 2000, `ended after ${r.ms} ms`);
    assert.equal(await exclusiveOpenStatus(server, "4.1", "/vfs/small"), "NFS4_OK");
  },
);

serverTest(
  "a failure reported before stdout closed still fails the command: `cat missing big | head -c1` says why and exits 1, not 0",
  async (server) => {
    fs.writeFileSync(`${server.exportDir}/big`, new Uint8Array(4 << 20).fill(0x61));
    const u = `${server.url}/vfs`;
    const r = await intoHead(["--vers", "4.1", "cat", `${u}/missing`, `${u}/big`]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(messageLines(r.stderr), [
      `nfs4: ${u}/missing: No such file or directory (NFS4ERR_NOENT)`,
    ]);
    assert.equal(await exclusiveOpenStatus(server, "4.1", "/vfs/big"), "NFS4_OK");
  },
);

serverTest(
  "lock --test whose reader is gone before its line (`lock --test … | true`) still answers by its exit status: locked is 1, never 0",
  async (server) => {
    fs.writeFileSync(`${server.exportDir}/held`, "held\n");
    const u = `${server.url}/vfs`;
    const holder = await startHolder(
      ["--vers", "4.1", "lock", `${u}/held`],
      `${u}/held`,
      "exclusive",
      "0-",
    );
    try {
      const out = await new Deno.Command("bash", {
        args: [
          "-c",
          '"$@" | true; exit "${PIPESTATUS[0]}"',
          "nfs4",
          Deno.execPath(),
          "run",
          "-A",
          "cli/main.ts",
          "--vers",
          "4.1",
          "lock",
          "--test",
          `${u}/held`,
        ],
        cwd: new URL("../..", import.meta.url).pathname,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, stderr);
      assert.deepEqual(messageLines(stderr), []);
    } finally {
      await stopHolder(holder);
    }
  },
);
