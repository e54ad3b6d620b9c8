/**
 * The demo: starts a local NFS-Ganesha with a few sample files and walks
 * through the nfs4 commands, printing each command before running it, so a
 * newcomer can read along. `deno task demo` (or scripts/demo.sh, which also
 * installs what is missing).
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { startTestServer } from "./test_server.ts";

const root = new URL("..", import.meta.url).pathname;
const deno = process.execPath;

function section(title: string, text: string): void {
  console.log(`\n\x1b[1m== ${title}\x1b[0m\n${text}`);
}

function nfs4(...args: string[]): number {
  console.log(`\n$ nfs4 ${args.join(" ")}`);
  const result = spawnSync(deno, ["run", "-A", join(root, "cli/main.ts"), ...args], {
    stdio: "inherit",
  });
  return result.status ?? 1;
}

const server = await startTestServer({ leaseSeconds: 10, graceSeconds: 10 });
const scratch = mkdtempSync(join(tmpdir(), "nfs4-demo-"));
try {
  const dir = server.exportDir;
  writeFileSync(join(dir, "hello.txt"), "Hello from NFSv4!\n");
  mkdirSync(join(dir, "docs"), { recursive: true });
  writeFileSync(
    join(dir, "docs", "notes.md"),
    "# Notes\n\nNFSv4 keeps state: opens, locks, leases.\n",
  );
  writeFileSync(join(dir, "data.bin"), new Uint8Array(300_000).map((_, i) => i % 251));
  symlinkSync("docs/notes.md", join(dir, "notes-link"));
  const url = `${server.url}/vfs`;

  section(
    "A local NFS server",
    `NFS-Ganesha is running on ${server.url} (no rpcbind, no kernel nfsd), exporting\n` +
      `${dir} at /vfs. Everything below talks NFSv4 to it over TCP from userspace.`,
  );
  section("The pseudo file system root lists the exports", "");
  nfs4("ls", `${server.url}/`);
  section("A long listing, like ls -l", "");
  nfs4("ls", "-l", url);
  section("Read a file (cat): OPEN, pipelined READs, CLOSE", "");
  nfs4("cat", `${url}/hello.txt`);
  section("A symlink is followed, as cat(1) would", "");
  nfs4("cat", `${url}/notes-link`);
  section(
    "The state manager at work: --trace",
    "Every client-ID, session, open and lease event, as the state manager handles it:",
  );
  nfs4("cat", "--trace", `${url}/hello.txt`);
  section(
    "Copy files both ways (cp): temporary name, RENAME at the end, COMMIT checked",
    "",
  );
  const local = join(scratch, "demo-download.bin");
  nfs4("cp", `${url}/data.bin`, local);
  nfs4("cp", local, `${url}/data-copy.bin`);
  nfs4("ls", "-l", `${url}/data.bin`, `${url}/data-copy.bin`);
  section(
    "Byte-range locks from the shell (lock), like flock(1)",
    "The lock is held while the command runs; another client testing it sees the holder.",
  );
  nfs4("lock", `${url}/hello.txt`, "--", "sh", "-c", `echo "holding the lock"`);
  nfs4("lock", "--test", `${url}/hello.txt`);
  section(
    "Watch the lease being kept (renew-watch)",
    "Leases here last 10 s; the state manager renews at 2/3 of that.",
  );
  nfs4("renew-watch", "--open", "--lock", "--duration", "8", `${url}/hello.txt`);
  section(
    "A server reboot drill (simulate-reboot)",
    "Open, lock and write; the server is killed and restarted; the state manager notices,\n" +
      "reclaims the open and the lock in the grace period, and the data is checked.",
  );
  const restart = `${process.execPath} run -A ${
    join(root, "scripts/test_server.ts")
  } restart --dir ${server.dir}`;
  nfs4("simulate-reboot", `${url}/drill.txt`, "--restart-cmd", restart);
  section("Errors are one line with the NFS status, and a documented exit code", "");
  const status = nfs4("cat", `${url}/missing.txt`);
  console.log(`(exit status ${status})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await server.stop();
  console.log("\nDemo done; the server is stopped.");
}
