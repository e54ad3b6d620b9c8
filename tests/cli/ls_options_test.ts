/**
 * cli/ls_options.ts: options read in order with the last of conflicting
 * ones winning (as coreutils `ls`), then settled against the terminal and
 * the environment; and cli/ls_owners.ts, owners as a mount shows them.
 */

import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import {
  addLsOptions,
  type LsOptions,
  type LsSurroundings,
  settleLsOptions,
} from "../../cli/ls_options.ts";
import { NO_IDS, ownerColumn, parseIdDatabase, printableOwner } from "../../cli/ls_owners.ts";
import { parseTimeStyle } from "../../cli/ls_time.ts";

function parse(args: string[]): LsOptions {
  const cmd = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  const read = addLsOptions(cmd);
  cmd.parse(args, { from: "user" });
  return read();
}

const PIPE: LsSurroundings = { isTTY: false, columns: undefined, env: {} };
const TTY: LsSurroundings = { isTTY: true, columns: 100, env: {} };

Deno.test("ls options: the last of conflicting options wins, as in coreutils", () => {
  assert.equal(parse(["-l", "-1"]).format, "one");
  assert.equal(parse(["-1", "-l"]).format, "long");
  assert.equal(parse(["-lC"]).format, "columns");
  assert.equal(parse(["-C", "-n"]).format, "long");
  assert.equal(parse(["--full-time", "-1"]).format, "one");
  assert.equal(parse([]).format, undefined);
  assert.equal(parse(["-a", "-A"]).show, "almost-all");
  assert.equal(parse(["-A", "-a"]).show, "all");
  assert.equal(parse(["-b", "-N"]).quoting, "literal");
  assert.equal(parse(["-N", "-Q"]).quoting, "c");
  assert.equal(parse(["-Q", "--quoting-style=shell"]).quoting, "shell");
  assert.equal(parse(["-q", "--show-control-chars"]).hideControl, false);
  assert.equal(parse(["--show-control-chars", "-q"]).hideControl, true);
  assert.equal(parse(["-F", "-p"]).indicator, "slash");
  assert.equal(parse(["--file-type", "--indicator-style=classify"]).indicator, "classify");
  assert.equal(parse(["-tSU"]).sort, "none");
  assert.equal(parse(["--sort=size", "-t"]).sort, "time");
  assert.equal(parse(["-u", "--time=ctime"]).time, "ctime");
  assert.deepEqual(parse(["--full-time"]).timeStyle, parseTimeStyle("full-iso"));
  assert.deepEqual(
    parse(["--full-time", "--time-style=long-iso"]).timeStyle,
    parseTimeStyle("long-iso"),
  );
  assert.equal(parse(["-w", "0"]).width, 0);
  assert.equal(parse(["--width=132"]).width, 132);
});

Deno.test("ls options: -h is --human-readable; bad values are refused", () => {
  const o = parse(["-lh"]);
  assert.equal(o.human, true);
  assert.equal(o.format, "long");
  assert.equal(parse(["-hil"]).inode, true);
  for (
    const bad of [
      ["--sort=bogus"],
      ["--time=birth"],
      ["--time-style=xx"],
      ["--quoting-style=perl"],
      ["--indicator-style=all"],
      ["-w", "x"],
      ["-w", "-1"],
    ]
  ) {
    assert.throws(() => parse(bad), { code: "commander.invalidArgument" }, bad.join(" "));
  }
});

Deno.test("settleLsOptions(): columns, shell-escape and ? on a terminal; one literal name per line piped", () => {
  const tty = settleLsOptions(parse([]), TTY);
  assert.equal(tty.format, "columns");
  assert.deepEqual(tty.quoting, {
    style: "shell-escape",
    quoteThese: undefined,
    hideControl: true,
  });
  assert.equal(tty.alignQuotes, true);
  assert.equal(tty.width, 100);
  const pipe = settleLsOptions(parse([]), PIPE);
  assert.equal(pipe.format, "one");
  assert.deepEqual(pipe.quoting, { style: "literal", quoteThese: undefined, hideControl: false });
  assert.equal(pipe.alignQuotes, false);
  assert.equal(pipe.width, 80);
  // -1 on a terminal: no alignment (coreutils pads only -l and -C).
  assert.equal(settleLsOptions(parse(["-1"]), TTY).alignQuotes, false);
  assert.equal(settleLsOptions(parse(["-l"]), TTY).alignQuotes, true);
  assert.equal(settleLsOptions(parse(["-l", "-N"]), TTY).alignQuotes, false);
  // -b escapes spaces; -F makes its indicators need quoting.
  assert.equal(settleLsOptions(parse(["-b"]), PIPE).quoting.quoteThese, " ");
  assert.equal(settleLsOptions(parse(["-bF"]), PIPE).quoting.quoteThese, " =>@|");
  assert.equal(settleLsOptions(parse(["--file-type"]), PIPE).quoting.quoteThese, "*=>@|");
});

Deno.test("settleLsOptions(): QUOTING_STYLE, TIME_STYLE and COLUMNS from the environment", () => {
  const env = (vars: Record<string, string>): LsSurroundings => ({ ...PIPE, env: vars });
  assert.equal(settleLsOptions(parse([]), env({ QUOTING_STYLE: "c" })).quoting.style, "c");
  assert.equal(
    settleLsOptions(parse(["-N"]), env({ QUOTING_STYLE: "c" })).quoting.style,
    "literal",
  );
  assert.equal(settleLsOptions(parse([]), env({ QUOTING_STYLE: "bad" })).quoting.style, "literal");
  assert.deepEqual(
    settleLsOptions(parse(["-l"]), env({ TIME_STYLE: "long-iso" })).timeStyle,
    parseTimeStyle("long-iso"),
  );
  assert.deepEqual(
    settleLsOptions(parse(["-l", "--time-style=iso"]), env({ TIME_STYLE: "long-iso" })).timeStyle,
    parseTimeStyle("iso"),
  );
  assert.equal(settleLsOptions(parse(["-C"]), env({ COLUMNS: "40" })).width, 40);
  assert.equal(settleLsOptions(parse(["-C"]), { ...TTY, env: { COLUMNS: "40" } }).width, 100);
  assert.equal(settleLsOptions(parse(["-C", "-w", "30"]), TTY).width, 30);
});

Deno.test("settleLsOptions(): a command-line symlink to a directory is followed unless -l, -d, -F or --json", () => {
  for (const args of [["-l"], ["-d"], ["-F"], ["--json"], ["-n"]]) {
    assert.equal(settleLsOptions(parse(args), PIPE).followOperandLinks, false, args.join(" "));
  }
  for (const args of [[], ["-1"], ["-C"], ["-p"], ["--file-type"], ["-a"]]) {
    assert.equal(settleLsOptions(parse(args), PIPE).followOperandLinks, true, args.join(" "));
  }
});

Deno.test("ownerColumn() shows owners as a mount would: local names for ids, numbers with -n", () => {
  const ids = parseIdDatabase(
    "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n" +
      "dup:x:1000:1000::/:/bin/sh\nbad line\n",
    "root:x:0:\nstaff:x:50:alice\n",
  );
  assert.equal(ownerColumn("0", "user", false, ids), "root");
  assert.equal(ownerColumn("0", "user", true, ids), "0");
  assert.equal(ownerColumn("1000", "user", false, ids), "alice", "the first entry wins");
  assert.equal(ownerColumn("1234", "user", false, ids), "1234");
  assert.equal(ownerColumn("alice@example.org", "user", false, ids), "alice");
  assert.equal(ownerColumn("alice@example.org", "user", true, ids), "1000");
  assert.equal(ownerColumn("bob@example.org", "user", true, ids), "bob@example.org");
  assert.equal(ownerColumn("staff", "group", true, ids), "50");
  assert.equal(ownerColumn("50", "group", false, ids), "staff");
  assert.equal(ownerColumn("50", "user", false, ids), "50");
  assert.equal(ownerColumn(undefined, "user", false, ids), "?");
  assert.equal(ownerColumn("007", "user", false, ids), "007", "not a canonical number");
  assert.equal(ownerColumn("0", "user", false, NO_IDS), "0");
});

Deno.test("ownerColumn() shows a server's owner string with control characters as '?', never raw to the terminal", () => {
  // An escape sequence that would retitle the terminal, a C1 CSI, a newline, DEL.
  assert.equal(ownerColumn("\x1b]0;pwned\x07@x", "user", false, NO_IDS), "?]0;pwned?@x");
  assert.equal(ownerColumn("a\u009bb\nc\u007f", "group", true, NO_IDS), "a?b?c?");
  assert.equal(ownerColumn("élise@exemple.fr", "user", false, NO_IDS), "élise@exemple.fr");
  assert.equal(printableOwner("plain"), "plain");
});
