/**
 * `--trace` as a black box against NFS-Ganesha, on NFSv4.0 and NFSv4.1:
 * `--trace=ops` (one line per COMPOUND with xid, 4.1 slot and seqid, each
 * op's status, bytes and round trip; the failing LOOKUP of a missing file
 * shown with NFS4ERR_NOENT), READ runs summarised and `ops-all`, category
 * filters, `--trace=json` parsed line by line with the final error as an
 * event, `--trace-file`, the server named once, the fresh client's
 * `+RECLAIM_REBOOT` line, and the grammar of `--trace=WORD,...`.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { parseTraceFormat } from "../../cli/globals.ts";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;

/** A text trace line: `  0.004 ops   ...`, `  0.003 state +LEASE_EXPIRED  (...)`. */
const TEXT_LINE = /^ *\d+\.\d{3} ([a-z]+) +/;

/** Parses every line of `text` as a JSON object (the test fails on any other line). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line !== "").map((line) => {
    let value: unknown;
    assert.doesNotThrow(() => value = JSON.parse(line), `not JSON: ${line}`);
    assert.equal(typeof value, "object", line);
    const event = value as Record<string, unknown>;
    assert.equal(typeof event.t, "number", line);
    assert.equal(typeof event.cat, "string", line);
    assert.equal(typeof event.event, "string", line);
    return event;
  });
}

/** The categories of the text trace lines of `stderr`; other lines (messages) apart. */
function textTrace(stderr: string): { categories: string[]; lines: string[]; messages: string[] } {
  const lines = stderr.split("\n").filter((l) => l !== "");
  return {
    categories: lines.flatMap((l) => TEXT_LINE.exec(l)?.[1] ?? []),
    lines: lines.filter((l) => TEXT_LINE.test(l)),
    messages: lines.filter((l) => !TEXT_LINE.test(l)),
  };
}

for (const vers of VERSIONS) {
  const v = ["--vers", vers];
  const minor = vers === "4.0" ? 0 : 1;

  serverTest(`--trace=ops, json, categories, --trace-file (NFSv${vers})`, async (server) => {
    fs.writeFileSync(`${server.exportDir}/hello.txt`, "hello, world\n");
    const u = `${server.url}/vfs`;
    const missing = `${u}/missing`;
    const message = `nfs4: ${missing}: No such file or directory (NFS4ERR_NOENT)`;

    // --trace=ops: a line per COMPOUND, the failing OPEN with its status
    // (cat opens a file by name in its directory, lib/client/small_file.ts).
    {
      const r = await nfs4([...v, "--trace=ops", "cat", missing, `${u}/hello.txt`]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "hello, world\n");
      const { categories, lines, messages } = textTrace(r.stderr);
      assert.deepEqual(messages, [message]);
      assert.deepEqual([...new Set(categories)].sort(), ["ops", "server"], r.stderr);
      const head = minor === 1
        ? "xid=0x[0-9a-f]{8} slot=\\d+ seq=\\d+ {2}SEQUENCE ok, "
        : "xid=0x[0-9a-f]{8} {2}";
      const failing = lines.filter((l) => l.includes("NFS4ERR_NOENT"));
      assert.equal(failing.length, 1, r.stderr);
      assert.match(
        failing[0]!,
        new RegExp(
          `^ *\\d+\\.\\d{3} ops +${head}PUTFH ok, ` +
            `OPEN NFS4ERR_NOENT \\(\\d+ more not run\\) {2}\\(\\d+ B -> \\d+ B, [\\d.]+ ms\\)$`,
        ),
      );
      // Every COMPOUND of the run: the client ID first, the READ of hello.txt.
      const first = minor === 1 ? "EXCHANGE_ID ok" : "SETCLIENTID ok";
      assert.match(lines[0]!, new RegExp(`ops +xid=0x[0-9a-f]{8} {2}${first} `));
      // hello.txt's READ: with its CLOSE (4.0), with its OPEN and CLOSE (4.1).
      assert.equal(lines.filter((l) => / READ ok, CLOSE ok /.test(l)).length, 1, r.stderr);
      // The server named once, before any file operation.
      const named = lines.filter((l) => / server /.test(l));
      assert.equal(named.length, 1, r.stderr);
      assert.match(named[0]!, new RegExp(`server NFSv${vers}: `));
      if (minor === 0) assert.match(named[0]!, /no implementation id .*SETCLIENTID carries none/);
      else assert.match(named[0]!, /server owner "[^"]+" \(minor \d+\), scope /);
    }

    // --trace=json: every line on stderr parses, the error too; no ops unless asked.
    {
      const r = await nfs4([...v, "--trace=json", "cat", missing]);
      assert.equal(r.code, 1, r.stderr);
      const events = jsonLines(r.stderr);
      assert.deepEqual(events.filter((e) => e.cat === "ops"), []);
      assert.deepEqual(events.filter((e) => e.cat === "error"), [{
        t: events.find((e) => e.cat === "error")!.t,
        cat: "error",
        event: "error",
        detail: message.slice("nfs4: ".length),
        url: missing,
        status: "NFS4ERR_NOENT",
      }]);
      assert.deepEqual(
        events.filter((e) => e.event === "+RECLAIM_REBOOT").map((e) => e.detail),
        ["new client ID; nothing to reclaim: a fresh client holds no state"],
      );
      assert.equal(events.filter((e) => e.cat === "server").length, 1);
      // Times are one time line: the error comes after the failing lookup, before the goodbye.
      const times = events.map((e) => e.t as number);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), r.stderr);
    }

    // --trace=json,ops: the ops as data.
    {
      const r = await nfs4([...v, "--trace=json,ops", "cat", missing]);
      assert.equal(r.code, 1, r.stderr);
      const events = jsonLines(r.stderr);
      assert.deepEqual([...new Set(events.map((e) => e.cat))].sort(), ["error", "ops", "server"]);
      const failing = events.filter((e) =>
        (e.ops as { status?: string }[] | undefined)?.some((o) => o.status === "NFS4ERR_NOENT")
      );
      assert.equal(failing.length, 1, r.stderr);
      const f = failing[0]! as {
        xid: string;
        slot?: number;
        seqid?: number;
        ops: { op: string; status: string }[];
        sent: number;
        received: number;
        ms: number;
      };
      assert.match(f.xid, /^0x[0-9a-f]{8}$/);
      assert.equal(typeof f.slot, minor === 1 ? "number" : "undefined");
      assert.equal(typeof f.seqid, minor === 1 ? "number" : "undefined");
      assert.deepEqual(f.ops.at(-1), { op: "LOOKUP", status: "NFS4ERR_NOENT" });
      assert.ok(f.sent > 0 && f.received > 0 && f.ms >= 0, JSON.stringify(f));
    }

    // --trace=state,ops: those categories (and the server line), nothing else.
    {
      const r = await nfs4([...v, "--trace=state,ops", "cat", `${u}/hello.txt`]);
      assert.equal(r.code, 0, r.stderr);
      const { categories, messages } = textTrace(r.stderr);
      assert.deepEqual(messages, []);
      assert.deepEqual([...new Set(categories)].sort(), ["ops", "server", "state"]);
    }

    // --trace-file: the trace in the file (truncated first), stderr for people.
    {
      const file = `${server.dir}/trace.jsonl`;
      fs.writeFileSync(file, "old contents\n".repeat(1000));
      const r = await nfs4([...v, "--trace=json,ops", "--trace-file", file, "cat", missing]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `${message}\n`);
      const events = jsonLines(fs.readFileSync(file, "utf8"));
      assert.ok(events.some((e) => e.cat === "ops"));
      assert.deepEqual(
        events.filter((e) => e.cat === "error").map((e) => [e.detail, e.status]),
        [[message.slice("nfs4: ".length), "NFS4ERR_NOENT"]],
      );
      // Text, and --trace-file alone turns the trace on (default categories).
      const text = `${server.dir}/trace.txt`;
      const t = await nfs4([...v, "--trace-file", text, "cat", missing]);
      assert.equal(t.code, 1, t.stderr);
      assert.equal(t.stderr, `${message}\n`);
      const traced = textTrace(fs.readFileSync(text, "utf8"));
      assert.deepEqual(traced.messages, []);
      assert.ok(traced.categories.includes("state") && !traced.categories.includes("ops"));
      assert.deepEqual(
        traced.lines.filter((l) => / error error /.test(l)).map((l) => l.replace(TEXT_LINE, "")),
        [`error  (${message.slice("nfs4: ".length)})`],
      );
    }
  });

  serverTest(
    `--trace=ops summarises a file's READs; ops-all shows each (NFSv${vers})`,
    async (server) => {
      const size = 16 * (1 << 20) + 123; // at least 8 READs, whatever their size up to 2 MiB
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i += 4096) data[i] = i & 0xff;
      fs.writeFileSync(`${server.exportDir}/big`, data);
      const url = `${server.url}/vfs/big`;
      type Ev = {
        cat: string;
        event: string;
        summary?: true;
        count?: number;
        bytes?: number;
        ops?: { op: string; bytes?: number }[];
      };
      const reads = (events: Ev[]) =>
        events.filter((e) =>
          e.cat === "ops" &&
          (e.summary ? e.event.startsWith("READ x") : e.ops?.some((o) => o.op === "READ"))
        );
      const readBytes = (e: Ev) =>
        e.summary ? e.bytes! : e.ops!.find((o) => o.op === "READ")!.bytes!;

      const summarised = await nfs4([...v, "--trace=json,ops", "cat", url]);
      assert.equal(summarised.code, 0, summarised.stderr);
      assert.equal(summarised.bytes.length, size);
      const every = await nfs4([...v, "--trace=json,ops-all", "cat", url]);
      assert.equal(every.code, 0, every.stderr);
      const one = reads(jsonLines(summarised.stderr) as Ev[]);
      const all = reads(jsonLines(every.stderr) as Ev[]);
      // Every READ on its own line, the data adding up to the file.
      assert.ok(all.length >= 8 && all.every((e) => !e.summary), every.stderr);
      assert.equal(all.reduce((n, e) => n + readBytes(e), 0), size);
      // Summarised: fewer lines (one a second at most), the same READs and bytes.
      assert.ok(one.some((e) => e.summary), summarised.stderr);
      assert.ok(one.length < all.length, summarised.stderr);
      assert.equal(one.reduce((n, e) => n + (e.summary ? e.count! : 1), 0), all.length);
      assert.equal(one.reduce((n, e) => n + readBytes(e), 0), size);
      // The text form: `READ xN ok  (16.0 MiB in 0.01 s, ...)`.
      const text = await nfs4([...v, "--trace=ops", "cat", url]);
      assert.match(
        text.stderr,
        /^ *\d+\.\d{3} ops +READ x\d+ ok {2}\(\d+\.\d (MiB|KiB) in \d+\.\d\d s, /m,
      );
    },
  );
}

Deno.test("parseTraceFormat(): text or json and categories, comma separated, in any order", () => {
  const rows: [string, unknown][] = [
    ["text", { format: "text" }],
    ["json", { format: "json" }],
    ["ops", { format: "text", filter: { categories: ["ops"], everyOp: false } }],
    ["json,ops", { format: "json", filter: { categories: ["ops"], everyOp: false } }],
    ["ops,json", { format: "json", filter: { categories: ["ops"], everyOp: false } }],
    ["state,ops", { format: "text", filter: { categories: ["state", "ops"], everyOp: false } }],
    ["ops-all", { format: "text", filter: { categories: ["ops"], everyOp: true } }],
    ["lease,state,lease", {
      format: "text",
      filter: { categories: ["state", "lease"], everyOp: false },
    }],
    ["all", {
      format: "text",
      filter: {
        categories: [
          "state",
          "step",
          "clid",
          "sess",
          "lease",
          "owner",
          "open",
          "lock",
          "deleg",
          "cb",
          "conn",
          "retry",
          "error",
          "server",
          "ops",
        ],
        everyOp: false,
      },
    }],
  ];
  for (const [value, expected] of rows) assert.deepEqual(parseTraceFormat(value), expected, value);
  for (const bad of ["xml", "json,text", "", "ops,", "OPS", "state ops"]) {
    assert.throws(() => parseTraceFormat(bad), InvalidArgumentError, bad);
  }
});

Deno.test("--trace with a word it does not know, or two formats, is a usage error (exit 2, one line)", async () => {
  for (const value of ["xml", "json,text", "ops,nope"]) {
    const r = await nfs4([`--trace=${value}`, "cat", "nfs://127.0.0.1:9/x"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^nfs4: option '--trace.*text or json[^\n]*\n$/);
  }
  const help = await nfs4(["--help"]);
  assert.match(help.stdout, /--trace\[=text\|json\]\[,CATEGORY\.\.\.\]/);
  assert.match(help.stdout, /--trace-file <path>/);
});

Deno.test("--trace-file FIFO that no process reads: one line after a short wait, exit 1, where open(2) waited for good, deaf to Ctrl-C; a reader there gets the trace", async () => {
  const dir = fs.mkdtempSync("/tmp/nfs4-trace-fifo-");
  try {
    const fifo = `${dir}/t`;
    assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/main.ts", "--trace-file", fifo, "ls", "nfs://127.0.0.1:1/"],
      cwd: new URL("../../", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const backstop = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const ended = await child.output();
    clearTimeout(backstop);
    assert.equal(ended.code, 1);
    assert.equal(
      new TextDecoder().decode(ended.stderr),
      `nfs4: --trace-file ${fifo}: no process has the FIFO open for reading (start its reader first)\n`,
    );
    // With its reader: the trace goes through (the refused connection is in it).
    const reader = new Deno.Command("cat", { args: [fifo], stdout: "piped" }).spawn();
    const r = await nfs4(["--trace-file", fifo, "ls", "nfs://127.0.0.1:1/"]);
    assert.equal(r.code, 1);
    const trace = new TextDecoder().decode((await reader.output()).stdout);
    assert.match(trace, /Connection refused/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 shell --trace-file: the trace goes to the file, not the terminal; \`trace ops\` there too (NFSv${vers})`,
    async (server) => {
      fs.writeFileSync(`${server.exportDir}/f`, "x");
      const file = `${server.dir}/shell-trace.txt`;
      fs.writeFileSync(file, "old contents\n");
      const r = await nfs4([
        "--vers",
        vers,
        "--trace-file",
        file,
        "shell",
        `${server.url}/vfs`,
        "-c",
        "ls; trace ops; cat f",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "f\nx");
      // Nothing of the trace on stderr (it went to the file).
      assert.doesNotMatch(r.stderr, TEXT_LINE_ANYWHERE, r.stderr);
      const traced = textTrace(fs.readFileSync(file, "utf8"));
      assert.ok(
        !fs.readFileSync(file, "utf8").includes("old contents"),
        "the file was emptied first",
      );
      assert.ok(traced.categories.includes("state"), traced.lines.join("\n"));
      assert.ok(traced.categories.includes("ops"), traced.lines.join("\n"));
    },
  );
}

/** A trace line anywhere in a text: `  1.234 state  ...`. */
const TEXT_LINE_ANYWHERE = /^ *\d+\.\d{3} [a-z]+ +/m;
