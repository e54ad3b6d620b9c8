/**
 * The many-files rows of `deno task bench` (scripts/bench.ts): listing a
 * 10,000-entry directory and cat of 1,000 files of 4 KiB, by nfs4 and by
 * libnfs on the same data.
 *
 * - `ls` of the directory: `nfs4 ls` and `nfs4 ls -l` against `nfs-ls`
 *   (libnfs lists only in its long form, so both rows compare with it).
 * - `cat` of 1,000 files one process per file, as a shell script would,
 *   against `nfs-cat` in the same loop; and all 1,000 in one `nfs4 cat`
 *   process (libnfs's `nfs-cat` takes one file, so that row has no libnfs
 *   column).
 *
 * These rows are about start-up and round trips, not bandwidth: their
 * "MB/s" is the data cat moved, and the wall time and ratio are what count.
 * Run them with the single binary (`--nfs4 dist/nfs4`) to compare like with
 * like: libnfs's tools are native programs.
 * @module
 */

import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { BenchCase, BenchContext } from "./bench.ts";

/** Entries in the listed directory. */
export const LIST_ENTRIES = 10_000;
/** Files cat reads, and their size. */
export const CAT_FILES = 1_000;
export const CAT_FILE_SIZE = 4096;

const LIST_DIR = "many";
const CAT_DIR = "small";

function libnfsUrl(ctx: BenchContext, name: string): string {
  return `nfs://127.0.0.1/vfs/${name}?version=4&nfsport=${ctx.server.port}`;
}

/** Makes the two directories behind the export, once. */
export async function prepareFileCases(ctx: BenchContext): Promise<void> {
  const many = path.join(ctx.exportDir, LIST_DIR);
  if (!fs.existsSync(path.join(many, `entry-${LIST_ENTRIES - 1}`))) {
    await fsp.mkdir(many, { recursive: true });
    for (let i = 0; i < LIST_ENTRIES; i++) {
      await fsp.writeFile(path.join(many, `entry-${i}`), `${i}\n`);
    }
  }
  const small = path.join(ctx.exportDir, CAT_DIR);
  if (!fs.existsSync(path.join(small, `f${CAT_FILES}`))) {
    await fsp.mkdir(small, { recursive: true });
    const block = new Uint8Array(CAT_FILE_SIZE).map((_, i) => 32 + (i % 90));
    for (let i = 1; i <= CAT_FILES; i++) await fsp.writeFile(path.join(small, `f${i}`), block);
  }
}

/** `sh -c 'for i in 1..N; do CMD URL/fi; done > /dev/null'`, quoting the command words. */
function shellLoop(command: readonly string[], urlOf: (i: string) => string): string[] {
  const quoted = command.map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(" ");
  const url = urlOf("$i");
  return [
    "sh",
    "-c",
    `i=1; while [ $i -le ${CAT_FILES} ]; do ${quoted} "${url}" || exit 1; i=$((i+1)); done > /dev/null`,
  ];
}

function listCase(long: boolean): BenchCase {
  return {
    id: long ? "ls-l-10k" : "ls-10k",
    title: `ls${long ? " -l" : "   "} ${LIST_ENTRIES} entries`,
    bytes: () => 0,
    ours: (ctx) => [
      "sh",
      "-c",
      `${ctx.nfs4.map((w) => `'${w}'`).join(" ")} --vers 4.1 ls ${
        long ? "-l " : ""
      }'${ctx.server.url}/vfs/${LIST_DIR}' > /dev/null`,
    ],
    theirs: (ctx) => ["sh", "-c", `nfs-ls '${libnfsUrl(ctx, LIST_DIR)}' > /dev/null`],
    prepare: (ctx) => prepareFileCases(ctx),
  };
}

function catLoopCase(): BenchCase {
  return {
    id: "cat-1000-loop",
    title: `cat ${CAT_FILES}×4 KiB, a process each`,
    bytes: () => CAT_FILES * CAT_FILE_SIZE,
    ours: (ctx) =>
      shellLoop(
        [...ctx.nfs4, "--vers", "4.1", "cat"],
        (i) => `${ctx.server.url}/vfs/${CAT_DIR}/f${i}`,
      ),
    theirs: (ctx) =>
      shellLoop(
        ["nfs-cat"],
        (i) => `nfs://127.0.0.1/vfs/${CAT_DIR}/f${i}?version=4&nfsport=${ctx.server.port}`,
      ),
    prepare: (ctx) => prepareFileCases(ctx),
  };
}

function catOneCase(): BenchCase {
  return {
    id: "cat-1000-one",
    title: `cat ${CAT_FILES}×4 KiB, one process`,
    bytes: () => CAT_FILES * CAT_FILE_SIZE,
    ours: (ctx) => [
      "sh",
      "-c",
      `${ctx.nfs4.map((w) => `'${w}'`).join(" ")} --vers 4.1 cat ${
        Array.from({ length: CAT_FILES }, (_, i) => `'${ctx.server.url}/vfs/${CAT_DIR}/f${i + 1}'`)
          .join(" ")
      } > /dev/null`,
    ],
    prepare: (ctx) => prepareFileCases(ctx),
  };
}

/** The many-files rows, in the order they are printed. */
export const FILE_CASES: BenchCase[] = [
  listCase(false),
  listCase(true),
  catLoopCase(),
  catOneCase(),
];
