/**
 * `nfs4 shell`'s own trace parts, from the trace audit (h6 findings 13, 14):
 *
 * - `trace` changing the mode no longer loses a READ or WRITE summary told
 *   after it: a run of READs is told at the next event (lib/state/trace.ts),
 *   and the shell filtered it by the mode then. Before, `trace ops; cat f;
 *   trace on; renew` never showed cat's READ, and `trace on; cat f; trace
 *   ops; renew` showed it under a mode set after it was sent. A COMPOUND
 *   is now shown by the mode in force when it was sent.
 * - `renew` after a server restart names the client ID its RENEW (4.0) or
 *   SEQUENCE (4.1) was refused for, and that exchange's round trip, then
 *   the recovery apart (its time, the new client ID). Before, the line gave
 *   the refusal with the client ID recovery had made since, and a time that
 *   was the recovery's as well.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest, type TestServer } from "../_server.ts";
import { nfs4, ROOT, traceEvents } from "./_spawn.ts";

/** The `ops` lines of a text trace: `   0.065 ops   xid=... SEQUENCE ok, PUTFH ok, READ ok  (...)`. */
function opsLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /^ *[0-9]+\.[0-9]{3} ops /.test(l));
}

for (const vers of ["4.0", "4.1"] as const) {
  const renewOp = vers === "4.0" ? "RENEW" : "SEQUENCE";
  serverTest(
    `shell on NFSv${vers}: a READ run sent under 'trace ops' is shown after 'trace on', and one sent under 'trace on' is not shown after 'trace ops' (mode when sent)`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "hello\n");
      const url = `${server.url}/vfs`;
      // The READ (cat through the held open) is told only at the next
      // event: the renew's, after the mode changed.
      const opsFirst = await nfs4([
        "--vers",
        vers,
        "shell",
        url,
        "-c",
        "trace ops; open f both; cat f; trace on; renew",
      ]);
      assert.equal(opsFirst.code, 0, opsFirst.stderr);
      assert.equal(opsFirst.stdout.split("\n")[0], "hello");
      const shown = opsLines(opsFirst.stderr);
      assert.ok(shown.some((l) => / READ ok /.test(l)), opsFirst.stderr);
      // After `trace on`, the renewal's COMPOUND is not an ops line, but its lease event is.
      assert.ok(
        !shown.some((l) => new RegExp(`(xid=\\S+|seq=\\d+) +${renewOp} ok  \\(`).test(l)),
        opsFirst.stderr,
      );
      assert.match(opsFirst.stderr, new RegExp(`^ *[0-9.]+ lease ${renewOp} ok `, "m"));

      const onFirst = await nfs4([
        "--vers",
        vers,
        "shell",
        url,
        "-c",
        "trace on; open f both; cat f; trace ops; renew",
      ]);
      assert.equal(onFirst.code, 0, onFirst.stderr);
      const later = opsLines(onFirst.stderr);
      assert.ok(!later.some((l) => / READ /.test(l)), onFirst.stderr);
      // The renewal, sent under `trace ops`, is an ops line.
      assert.ok(
        later.some((l) => new RegExp(`(xid=\\S+|seq=\\d+) +${renewOp} ok  \\(`).test(l)),
        onFirst.stderr,
      );
    },
  );
}

/** Reads `stream` into `text.value` as it comes, until it ends. */
function collect(stream: ReadableStream<Uint8Array>): { value: string; done: Promise<void> } {
  const text = { value: "", done: Promise.resolve() };
  const decoder = new TextDecoder();
  text.done = (async () => {
    for await (const chunk of stream) text.value += decoder.decode(chunk, { stream: true });
  })();
  return text;
}

/** Resolves once `text.value` matches `re` (polled); fails after `ms` (not a timing assertion: a hang guard). */
async function waitForText(
  text: { value: string },
  re: RegExp,
  ms = 60_000,
): Promise<void> {
  const until = performance.now() + ms;
  while (!re.test(text.value)) {
    if (performance.now() > until) throw new Error(`never printed ${re}:\n${text.value}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The client IDs of each `state` in `stdout`, in order. */
function stateClientIds(stdout: string): string[] {
  return [...stdout.matchAll(/^client ID {3}(0x[0-9a-f]+)$/gm)].map((m) => m[1]!);
}

async function renewAcrossRestart(server: TestServer, vers: "4.0" | "4.1"): Promise<void> {
  await Deno.writeTextFile(`${server.exportDir}/f`, "x");
  const dir = mkdtempSync(join(tmpdir(), "nfs4-shell-renew-"));
  const traceFile = join(dir, "trace.jsonl");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/main.ts",
      "--vers",
      vers,
      "--trace=json,all",
      "--trace-file",
      traceFile,
      "shell",
      `${server.url}/vfs`,
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  const type = (line: string) => writer.write(new TextEncoder().encode(line));
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  try {
    try {
      await type("open f both\nstate\n");
      await waitForText(stdout, /^flags /m);
      // The lease (20 s) is renewed after about 13 s: the RENEW or SEQUENCE
      // that finds the restart is renew's own.
      await server.restart();
      await type("renew\nstate\nexit\n");
      await writer.close();
    } catch (e) {
      child.kill();
      throw e;
    }
    const status = await child.status;
    await Promise.all([stdout.done, stderr.done]);
    assert.equal(status.code, 0, stderr.value);
    const [before, after] = stateClientIds(stdout.value);
    assert.ok(before && after && before !== after, stdout.value);
    const op = vers === "4.0" ? "RENEW" : "SEQUENCE";
    const line = stdout.value.split("\n").find((l) => l.startsWith(`${op} -> `));
    const m = new RegExp(
      `^${op} -> (NFS4ERR_\\w+) in ([0-9]+\\.[0-9]) ms, client ID (0x[0-9a-f]+)` +
        (vers === "4.1" ? `, session ([0-9a-f]{32})` : "()") +
        `; recovered in [0-9]+\\.[0-9] ms: new client ID (0x[0-9a-f]+)` +
        (vers === "4.1" ? `, session ([0-9a-f]{32})$` : "()$"),
    ).exec(line ?? "");
    assert.ok(m, `renew's line: ${line}\n${stdout.value}`);
    const [, answer, ms, refused, oldSession, made, newSession] = m;
    // The client ID refused is the one the shell had; the new one is recovery's.
    assert.equal(refused, before);
    assert.equal(made, after);
    // On 4.1 the sessions too: the one the SEQUENCE was sent on, and the one recovery made.
    const sessions = [...stdout.value.matchAll(/^session {5}([0-9a-f]{32}) /gm)].map((s) => s[1]);
    if (vers === "4.1") assert.deepEqual([oldSession, newSession], sessions);
    // The time is that exchange's round trip, as the trace's ops event tells it.
    const events = traceEvents(readFileSync(traceFile, "utf8"));
    const exchanges = events.filter((e) => {
      const ops = e.ops as { op: string; status?: string }[] | undefined;
      return e.cat === "ops" && ops?.length === 1 && ops[0]!.op === op &&
        ops[0]!.status === answer;
    });
    assert.ok(exchanges.length > 0, `no ${op} -> ${answer} COMPOUND in the trace`);
    assert.equal(ms, (exchanges.at(-1)!.ms as number).toFixed(1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

serverTest(
  "shell on NFSv4.0: renew after a server restart names the client ID RENEW was refused for, its round trip, then the recovery and its new client ID (RFC 7530 §16.28, §9.6.2)",
  (server) => renewAcrossRestart(server, "4.0"),
  { leaseSeconds: 20, graceSeconds: 10 },
);

serverTest(
  "shell on NFSv4.1: renew after a server restart names the client ID SEQUENCE was refused for, its round trip, then the recovery, its client ID and session (RFC 8881 §18.46, §8.4.2)",
  (server) => renewAcrossRestart(server, "4.1"),
  { leaseSeconds: 20, graceSeconds: 10 },
);
