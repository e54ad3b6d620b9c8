/**
 * `nfs4 tail -f URL | head -1` ends once head has exited, while the file
 * does not grow: at each `-s` interval tail asks poll(2) whether its
 * stdout's reader is gone (lib/os/output_alive.ts, as GNU tail's
 * check_output_alive()), and ends as on a write's EPIPE: exit 0, the open
 * closed (CLOSE), the 4.1 session and client ID destroyed, nothing left on
 * the server. Before, it only learnt of it at its next write, which an idle
 * file never brings: it ran, holding its open, until killed. Against
 * Ganesha under Deno (NFSv4.0 and 4.1, -f and -F, a reader that leaves at
 * once and one that leaves later), through the single binary (Bun), and
 * in-process with a stdout double whose reader goes.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { dir, FakeStream, file, runFake } from "./_fake.ts";
import {
  destroyClientIdStatus,
  exclusiveOpenStatus,
  ROOT,
  traceClientId,
  traceEvents,
} from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;

/**
 * A hang guard, not a timing assertion: a tail that never notices is
 * killed (SIGKILL, exit 137) after this long, and the test fails saying so.
 */
const GUARD_SECONDS = 60;

interface Piped {
  /** nfs4's exit status (bash's PIPESTATUS[0]). */
  code: number;
  /** What the reader printed. */
  stdout: string;
  stderr: string;
}

/**
 * Runs `NFS4... | READER` in bash, nfs4 under `timeout` as the hang guard,
 * and returns nfs4's exit status with what the reader printed.
 */
async function piped(nfs4: readonly string[], reader: string): Promise<Piped> {
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `timeout -s KILL ${GUARD_SECONDS} "$@" | ${reader}; exit "\${PIPESTATUS[0]}"`,
      "pipeline",
      ...nfs4,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  assert.notEqual(result.code, 137, `still following after ${GUARD_SECONDS} s: ${result.stderr}`);
  return result;
}

/** The ways the reader goes: at once after its line, or a while after it. */
const READERS: [string, string][] = [
  ["head -1", "head -1"],
  ["a reader that leaves 1.5 s after its line", "{ head -1; sleep 1.5; }"],
];

/**
 * `tail -n 1 (-f|-F) -s 0.2 URL | READER` on an idle file through `nfs4`
 * (the argv that runs it): the last line printed, exit 0, and nothing left
 * on the server.
 */
async function assertEndsClean(
  server: TestServer,
  nfs4: readonly string[],
  what: string,
  follow: "-f" | "-F",
): Promise<void> {
  await fs.writeFile(`${server.exportDir}/idle.log`, "first\nsecond\nlast line\n");
  const url = `${server.url}/vfs/idle.log`;
  for (const vers of VERSIONS) {
    for (const [name, reader] of READERS) {
      const label = `${what} ${follow} --vers ${vers} | ${name}`;
      const traceFile = `${server.dir}/tail-gone-${crypto.randomUUID()}.jsonl`;
      const r = await piped([
        ...nfs4,
        "--vers",
        vers,
        "--trace=json",
        "--trace-file",
        traceFile,
        "tail",
        "-n",
        "1",
        follow,
        "-s",
        "0.2",
        url,
      ], reader);
      assert.equal(r.code, 0, `${label}: exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stdout, "last line\n", label);
      assert.equal(r.stderr, "", label);
      const events = traceEvents(await fs.readFile(traceFile, "utf8"));
      const names = events.map((e) => e.event);
      // -f holds its open while following: it was closed at the end.
      if (follow === "-f") assert.ok(names.includes("CLOSE"), `${label}: CLOSE in ${names}`);
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/idle.log"), "NFS4_OK", label);
      if (vers === "4.1") {
        assert.ok(names.includes("DESTROY_SESSION ok"), `${label}: ${names}`);
        assert.ok(names.includes("DESTROY_CLIENTID ok"), `${label}: ${names}`);
        assert.equal(
          await destroyClientIdStatus(server, traceClientId(events)),
          "NFS4ERR_STALE_CLIENTID",
          `${label}: the client ID is gone`,
        );
      }
    }
  }
}

const DENO = [Deno.execPath(), "run", "-A", "cli/main.ts"];

serverTest(
  "tail -f | head -1 ends while the file is idle, its state released (Deno)",
  async (server) => {
    await assertEndsClean(server, DENO, "deno", "-f");
  },
);

serverTest("tail -F | head -1 ends while the file is idle (Deno)", async (server) => {
  await assertEndsClean(server, DENO, "deno", "-F");
});

serverTest(
  "tail -f | head -1 ends while the file is idle (the single binary, Bun)",
  async (server) => {
    const buildDir = mkdtempSync(join(tmpdir(), "nfs4-tail-gone-build-"));
    try {
      const { outfile } = build(join(buildDir, "nfs4"));
      await assertEndsClean(server, [outfile], "binary", "-f");
    } finally {
      rmSync(buildDir, { recursive: true, force: true });
    }
  },
);

/** A stdout whose reader goes away once `after` ms have passed since the first write. */
class LeavingReader extends FakeStream {
  #firstWrite: number | undefined;
  asked = 0;
  constructor(readonly after: number) {
    super();
  }
  override write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean {
    this.#firstWrite ??= Date.now();
    return super.write(chunk, callback);
  }
  readerGone(): boolean {
    this.asked++;
    return this.#firstWrite !== undefined && Date.now() - this.#firstWrite >= this.after;
  }
}

Deno.test("tail -f ends when stdout's reader has gone, closing its open and its client", async () => {
  const stdout = new LeavingReader(100);
  const run = runFake(["tail", "-f", "-s", "0.02", "nfs://srv/vfs/log"], {
    servers: { "srv:2049": dir({ vfs: dir({ log: file("a\nb\n") }) }) },
    stdout,
  });
  // The hang guard (a tail that never notices follows for ever).
  let guard: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    run,
    new Promise<never>((_, reject) => {
      guard = setTimeout(() => reject(new Error("still following after 20 s")), 20_000);
    }),
  ]).finally(() => clearTimeout(guard));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "a\nb\n");
  assert.equal(r.stderr, "");
  assert.ok(stdout.asked >= 2, `asked ${stdout.asked} times`);
  assert.equal(r.log.opened, 1);
  assert.equal(r.log.closed, 1, "the open kept for -f was closed");
  assert.equal(r.log.clientsClosed, 1, "the client was closed");
});
