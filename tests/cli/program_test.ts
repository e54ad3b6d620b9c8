/**
 * `run()` in-process: help, version, usage errors and their exit codes, the
 * global options as a command receives them, and `--trace`.
 */

import assert from "node:assert/strict";
import { normalizeArgv } from "../../cli/globals.ts";
import { COMMAND_NAMES } from "../../cli/program.ts";
import { VERSION } from "../../cli/version.ts";
import { dir, file, runFake } from "./_fake.ts";
import { nfs4 } from "./_spawn.ts";

const world = () => ({ servers: { "h:2049": dir({ f: file("data") }) } });

Deno.test("run() prints help for --help, -h and help, with status 0", async () => {
  for (const argv of [["--help"], ["-h"], ["help"]]) {
    const r = await runFake(argv, world());
    assert.equal(r.code, 0, argv.join(" "));
    assert.match(r.stdout, /^Usage: nfs4 /);
    assert.match(r.stdout, /\n {2}ls \[options\] <url\.\.\.>/);
    assert.match(r.stdout, /\n {2}cat \[options\] <url\.\.\.>/);
    assert.match(r.stdout, /Exit status:/);
    assert.equal(r.stderr, "");
  }
});

Deno.test("run() prints a subcommand's help with examples and the global options", async () => {
  for (const argv of [["ls", "--help"], ["help", "ls"], ["--verbose", "cat", "-h"]]) {
    const r = await runFake(argv, world());
    assert.equal(r.code, 0, argv.join(" "));
    const command = argv.includes("cat") ? "cat" : "ls";
    assert.match(r.stdout, new RegExp(`^Usage: nfs4 ${command} \\[options\\] <url\\.\\.\\.>`));
    assert.match(r.stdout, new RegExp(`Examples:\\n {2}\\$ nfs4 ${command} `));
    assert.match(r.stdout, /Global Options:[^]*--trace\[=text\|json\][^]*--timeout <seconds>/);
    assert.doesNotMatch(r.stdout, /--version/);
  }
  const cat = await runFake(["cat", "--help"], world());
  assert.match(cat.stdout, /Examples:\n {2}\$ nfs4 cat /);
});

Deno.test("run() lists every command in --help, named as COMMAND_NAMES names them", async () => {
  const r = await runFake(["--help"], world());
  const section = /\nCommands:\n([^]*?)\n\n/.exec(r.stdout)?.[1] ?? "";
  const listed = section.split("\n").map((line) => line.trim().split(" ")[0]!.split("|"));
  assert.deepEqual(listed.flat(), [...COMMAND_NAMES, "completions", "help"]);
});

Deno.test("run() reaches each command by each of its names (modules load on demand)", async () => {
  for (const name of COMMAND_NAMES) {
    const r = await runFake([name, "--help"], world());
    assert.equal(r.code, 0, name);
    assert.match(r.stdout, new RegExp(`^Usage: nfs4 ([a-z-]+\\|)?${name}(\\|[a-z-]+)? `), name);
  }
});

Deno.test("run() prints the version with status 0", async () => {
  const r = await runFake(["--version"], world());
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`^nfs4 ${VERSION.replaceAll(".", "\\.")} \\(`));
});

Deno.test("run() exits 2 with one nfs4: line for usage errors", async () => {
  const cases: [string[], RegExp][] = [
    [["ls", "--bogus", "nfs://h/"], /^nfs4: unknown option '--bogus'\n$/],
    [["--bogus", "ls", "nfs://h/"], /^nfs4: unknown option '--bogus'\n$/],
    [["frobnicate"], /^nfs4: unknown command 'frobnicate'\n$/],
    [["ls"], /^nfs4: missing required argument 'url'\n$/],
    [["ls", "--vers", "5", "nfs://h/"], /^nfs4: option '--vers <version>' argument '5' is invalid/],
    [["ls", "--uid", "-1", "nfs://h/"], /^nfs4: .*--uid.*integer/],
    [["ls", "--uid", "x", "nfs://h/"], /^nfs4: .*--uid.*integer/],
    [["ls", "--timeout", "0", "nfs://h/"], /^nfs4: .*--timeout.*seconds/],
    [["cat", "--trace=xml", "nfs://h/f"], /^nfs4: .*--trace.*text or json/],
    [["ls", "ftp://x"], /^nfs4: ftp:\/\/x: not an nfs:\/\/ URL/],
    [["ls", "nfs://"], /^nfs4: nfs:\/\/: missing host\n$/],
    [["cat", "nfs://h:99999/"], /^nfs4: nfs:\/\/h:99999\/: port out of range\n$/],
  ];
  for (const [argv, pattern] of cases) {
    const r = await runFake(argv, world());
    assert.equal(r.code, 2, argv.join(" "));
    assert.match(r.stderr, pattern, argv.join(" "));
    assert.equal(r.stderr.split("\n").length, 2, `one line for ${argv.join(" ")}`);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.log.calls, [], "nothing was attempted");
  }
});

Deno.test("run() without a command shows help on stderr and exits 2", async () => {
  const r = await runFake([], world());
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Usage: nfs4 /);
  assert.equal(r.stdout, "");
});

Deno.test("run() hands the global options to connect, before or after the command", async () => {
  const a = await runFake(
    ["--vers", "4.0", "--uid", "1234", "cat", "--gid", "99", "--timeout", "2.5", "nfs://h/f"],
    world(),
  );
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(a.log.globals, {
    vers: "4.0",
    uid: 1234,
    gid: 99,
    trace: undefined,
    timeoutSeconds: 2.5,
    verbose: false,
    callback: undefined,
  });
  const b = await runFake(["cat", "nfs://h/f"], world());
  assert.deepEqual(b.log.globals, {
    vers: "auto",
    uid: undefined,
    gid: undefined,
    trace: undefined,
    timeoutSeconds: 30,
    verbose: false,
    callback: undefined,
  });
});

Deno.test("--trace prints events to stderr as text, --trace=json as JSON lines", async () => {
  // A bare --trace does not take the URL after it as its format.
  const text = await runFake(["cat", "--trace", "nfs://h/f"], world());
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, "data");
  assert.equal(text.stderr, "   0.002 clid  EXCHANGE_ID ok  (server h:2049)\n");
  const json = await runFake(["--trace=json", "cat", "nfs://h/f"], world());
  assert.deepEqual(JSON.parse(json.stderr), {
    t: 0.0015,
    cat: "clid",
    event: "EXCHANGE_ID ok",
    detail: "server h:2049",
    clientid: "0x0000000000001234",
  });
  const none = await runFake(["cat", "nfs://h/f"], world());
  assert.equal(none.stderr, "");
});

Deno.test("normalizeArgv() rewrites a bare --trace before --", () => {
  assert.deepEqual(normalizeArgv(["ls", "--trace", "nfs://h/"]), [
    "ls",
    "--trace=text",
    "nfs://h/",
  ]);
  assert.deepEqual(normalizeArgv(["--trace=json", "ls"]), ["--trace=json", "ls"]);
  assert.deepEqual(normalizeArgv(["cat", "--", "--trace"]), ["cat", "--", "--trace"]);
});

Deno.test("an error naming an argument with a newline or an escape sequence is one line, the control characters written as \\xHH", async () => {
  const newline = await nfs4(["ls", "x\ny"]);
  assert.equal(newline.code, 2);
  assert.equal(
    newline.stderr,
    "nfs4: x\\x0ay: not an nfs:// URL (expected nfs://HOST[:PORT]/PATH)\n",
  );
  const escape = await nfs4(["ls", "nfs://127.0.0.1:1/a\x1b[31mb"]);
  assert.equal(escape.code, 2);
  assert.equal(
    escape.stderr,
    "nfs4: nfs://127.0.0.1:1/a\\x1b[31mb: control characters are not allowed in a URL\n",
  );
});
