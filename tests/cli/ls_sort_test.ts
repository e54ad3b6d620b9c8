/**
 * cli/ls_sort.ts and the sort options of cli/ls_options.ts against GNU
 * coreutils `ls` on a local folder: files with times set to the nanosecond
 * (some equal, to see ties broken by name), sizes (some equal), and the
 * orders of `-t`, `-S`, `-r`, `-u`, `-c`, `--sort`, `--time`, and the last
 * of `-t`/`-S` winning.
 */

import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { addLsOptions, settleLsOptions } from "../../cli/ls_options.ts";
import { sortListing } from "../../cli/ls_sort.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import { coreutilsLs, createFile, outputLines } from "./_coreutils.ts";

/** The sort `nfs4 ls ARGS` would use (piped). */
function sortOf(args: string[]) {
  const cmd = new Command().exitOverride();
  const read = addLsOptions(cmd);
  cmd.parse(args, { from: "user" });
  return settleLsOptions(read(), { isTTY: false, columns: undefined, env: {} }).sort;
}

/** `touch -m`/`-a` at `seconds.nanos` since the epoch. */
async function touch(flag: "-m" | "-a", path: string, stamp: string): Promise<void> {
  const out = await new Deno.Command("touch", { args: [flag, "-d", `@${stamp}`, path] }).output();
  assert.ok(out.success, `touch ${flag} ${stamp} ${path}`);
}

/** Name, size and times to the nanosecond of every file in `folder` (stat(1)). */
async function statFolder(folder: string): Promise<FileInfo[]> {
  const out = await new Deno.Command("sh", {
    args: ["-c", "stat -c '%n|%s|%.9X|%.9Y|%.9Z' *"],
    cwd: folder,
    stdout: "piped",
  }).output();
  assert.ok(out.success);
  const ns = (text: string) => BigInt(text.replace(".", ""));
  return new TextDecoder().decode(out.stdout).trimEnd().split("\n").map((line) => {
    const [name, size, atime, mtime, ctime] = line.split("|") as [
      string,
      string,
      string,
      string,
      string,
    ];
    return {
      name,
      path: `/${name}`,
      kind: "file",
      mode: 0o644,
      nlink: 1,
      owner: "0",
      group: "0",
      size: BigInt(size),
      spaceUsed: 0n,
      atime: undefined,
      mtime: undefined,
      ctime: undefined,
      atimeNs: ns(atime),
      mtimeNs: ns(mtime),
      ctimeNs: ns(ctime),
      fileid: undefined,
    };
  });
}

Deno.test("sortListing() orders as coreutils ls does: -t, -S, -r, -u, -c, ties by name", async () => {
  const folder = await Deno.makeTempDir({ prefix: "nfs4-sort-" });
  try {
    // name, size, mtime, atime: equal times and sizes on purpose, and
    // times that differ only in their last nanosecond digits.
    const files: [string, number, string, string][] = [
      ["b", 10, "1700000000.000000001", "1600000000.5"],
      ["a", 10, "1700000000.000000001", "1600000000.5"],
      ["c", 300, "1700000000.000000002", "1500000000"],
      ["D", 0, "1600000000", "1700000001"],
      ["é", 300, "1800000000", "1600000000.5"],
      ["z z", 5000, "100", "1600000000.500000001"],
      [".hidden", 1, "1700000005", "1"],
      ["0", 10, "1700000000.000000001", "1600000000.5"],
    ];
    for (const [name, size, mtime, atime] of files) {
      const path = `${folder}/${name}`;
      createFile([path], new Uint8Array(size));
      await touch("-m", path, mtime);
      await touch("-a", path, atime);
    }
    const infos = (await statFolder(folder))
      .filter((info) => !info.name.startsWith("."))
      .map((info) => ({ info, name: info.name }));
    const cases = [
      [],
      ["-r"],
      ["-t"],
      ["-tr"],
      ["-S"],
      ["-Sr"],
      ["-tu"],
      ["-u"],
      ["-ur"],
      ["-c"],
      ["-tc"],
      ["--sort=size"],
      ["--sort=time"],
      ["--sort=time", "--time=atime"],
      ["--time=use"],
      ["-t", "-S"],
      ["-S", "-t"],
      ["-St", "-r"],
    ];
    for (const args of cases) {
      const expected = outputLines(await coreutilsLs(["-1", ...args], folder));
      const ours = sortListing([...infos], sortOf(args)).map((info) => info.name);
      assert.deepEqual(ours, expected, `ls ${args.join(" ")}`);
    }
    // --sort=name (newer coreutils; 9.1 knows no such word) undoes -t.
    assert.deepEqual(
      sortListing([...infos], sortOf(["-t", "--sort=name", "-r"])).map((i) => i.name),
      outputLines(await coreutilsLs(["-1", "-r"], folder)),
    );
    // -U keeps the order given, -r or not.
    assert.deepEqual(
      sortListing([...infos], sortOf(["-U", "-r"])).map((i) => i.name),
      infos.map((i) => i.name),
    );
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("the sort follows -l: -u and -c alone sort by name with -l, by that time without", () => {
  const settle = (args: string[]) => {
    const cmd = new Command().exitOverride();
    const read = addLsOptions(cmd);
    cmd.parse(args, { from: "user" });
    return settleLsOptions(read(), { isTTY: false, columns: undefined, env: {} }).sort;
  };
  assert.deepEqual(settle(["-u"]), { key: "time", reverse: false, time: "atime" });
  assert.deepEqual(settle(["-lu"]), { key: "name", reverse: false, time: "atime" });
  assert.deepEqual(settle(["-ltc"]), { key: "time", reverse: false, time: "ctime" });
  assert.deepEqual(settle(["--time=mtime"]), { key: "name", reverse: false, time: "mtime" });
  assert.deepEqual(settle(["-c", "-u"]), { key: "time", reverse: false, time: "atime" });
});
