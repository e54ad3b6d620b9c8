/**
 * The many-files and start-up rows of `deno task bench` (scripts/bench.ts):
 * listing, `cat` of many small files, `cp -r` of a tree of small files, and
 * what one process costs from start to exit.
 *
 * - `ls -l` of a 10,000-entry directory against local `ls -l` of the
 *   directory behind the export (the physical floor), and `ls` against
 *   libnfs's `nfs-ls` (which lists only in its long form).
 * - `ls -R` of a 10-level tree of 20,000 entries against local `ls -R`.
 * - `cat` of 1,000 files of 4 KiB: one `nfs4 cat` process against a shell
 *   loop running libnfs's `nfs-cat` once per file (its ratio is the files/s
 *   target).
 * - `cp -r` of a tree of 10,000 files of 4 KiB (100 directories of 100)
 *   to the server and back, against local `cp -r` of the same tree
 *   between two local directories (files per second are what counts).
 * - Start-up: `nfs4 --version`, and `nfs4 cat` of one 4 KiB file against
 *   `nfs-cat` of it.
 *
 * These rows are about start-up and round trips, not bandwidth: the wall
 * time, files per second and ratio are what count.
 * @module
 */

import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { type BenchCase, type BenchContext, quote } from "./bench.ts";

/** Entries in the listed directory. */
export const LIST_ENTRIES = 10_000;
/** Files cat reads, and their size. */
export const CAT_FILES = 1_000;
export const CAT_FILE_SIZE = 4096;
/** The tree `ls -R` lists: levels, entries in all. */
export const DEEP_LEVELS = 10;
export const DEEP_ENTRIES = 20_000;
/** The tree `cp -r` copies: directories × files each, of CAT_FILE_SIZE bytes. */
export const TREE_DIRS = 100;
export const TREE_FILES_PER_DIR = 100;
export const TREE_FILES = TREE_DIRS * TREE_FILES_PER_DIR;

const LIST_DIR = "many";
const CAT_DIR = "small";
const DEEP_DIR = "deep";
const TREE_DIR = "tree";

function libnfsUrl(ctx: BenchContext, name: string): string {
  return `nfs://127.0.0.1/vfs/${name}?version=4&nfsport=${ctx.server.port}`;
}

function block(): Uint8Array {
  return new Uint8Array(CAT_FILE_SIZE).map((_, i) => 32 + (i % 90));
}

/** Makes the directories behind the export (and the local tree), once. */
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
    const data = block();
    for (let i = 1; i <= CAT_FILES; i++) await fsp.writeFile(path.join(small, `f${i}`), data);
  }
  // DEEP_LEVELS nested directories, the entries spread evenly over them.
  const perLevel = DEEP_ENTRIES / DEEP_LEVELS - 1;
  let dir = path.join(ctx.exportDir, DEEP_DIR);
  for (let level = 1; level <= DEEP_LEVELS; level++) {
    dir = path.join(dir, `level-${level}`);
    if (fs.existsSync(path.join(dir, `e-${perLevel - 1}`))) continue;
    await fsp.mkdir(dir, { recursive: true });
    for (let i = 0; i < perLevel; i++) await fsp.writeFile(path.join(dir, `e-${i}`), "x\n");
  }
  for (const base of [path.join(ctx.exportDir, TREE_DIR), path.join(ctx.localDir, TREE_DIR)]) {
    if (fs.existsSync(path.join(base, `d${TREE_DIRS - 1}`, `f${TREE_FILES_PER_DIR - 1}`))) {
      continue;
    }
    const data = block();
    for (let d = 0; d < TREE_DIRS; d++) {
      const sub = path.join(base, `d${d}`);
      await fsp.mkdir(sub, { recursive: true });
      for (let f = 0; f < TREE_FILES_PER_DIR; f++) {
        await fsp.writeFile(path.join(sub, `f${f}`), data);
      }
    }
  }
}

/** `sh -c 'for i in 1..N; do CMD URL/fi; done > /dev/null'`, quoting the command words. */
function shellLoop(command: readonly string[], urlOf: (i: string) => string): string[] {
  const url = urlOf("$i");
  return [
    "sh",
    "-c",
    `i=1; while [ $i -le ${CAT_FILES} ]; do ${
      quote(command)
    } "${url}" || exit 1; i=$((i+1)); done > /dev/null`,
  ];
}

/**
 * `ls` or `ls -l` of the 10,000-entry directory. `caching`: against the
 * bench's second Ganesha, which keeps attributes as Ganesha does by default
 * (the first one re-reads every entry's attributes from the file system on
 * every READDIR, Attr_Expiration_Time 0, and that alone costs more than the
 * target allows): the client's own cost against local `ls -l`.
 */
function listCase(long: boolean, caching = false): BenchCase {
  const dir = (ctx: BenchContext) => path.join(ctx.exportDir, LIST_DIR);
  return {
    id: (long ? "ls-l-10k" : "ls-10k") + (caching ? "-cached" : ""),
    title: `ls${long ? " -l" : "   "} ${LIST_ENTRIES} entries${
      caching ? ", server caching attrs" : ""
    }`,
    ...(caching ? { server: "caching" as const } : {}),
    theirsName: long ? "local ls -l" : "nfs-ls",
    files: LIST_ENTRIES,
    bytes: () => 0,
    ours: (ctx) => [
      "sh",
      "-c",
      `${quote(ctx.nfs4)} --vers 4.1 ls ${long ? "-l " : ""}'${ctx.server.url}/vfs/${LIST_DIR}' ` +
      "> /dev/null",
    ],
    // libnfs lists only in its long form; `ls -l` is held to local ls -l.
    theirs: (ctx) =>
      long
        ? ["sh", "-c", `ls -l '${dir(ctx)}' > /dev/null`]
        : ["sh", "-c", `nfs-ls '${libnfsUrl(ctx, LIST_DIR)}' > /dev/null`],
    prepare: (ctx) => prepareFileCases(ctx),
  };
}

function listRecursiveCase(): BenchCase {
  return {
    id: "ls-R-20k",
    title: `ls -R ${DEEP_LEVELS} levels, ${DEEP_ENTRIES} entries`,
    theirsName: "local ls -R",
    files: DEEP_ENTRIES,
    bytes: () => 0,
    ours: (ctx) => [
      "sh",
      "-c",
      `${quote(ctx.nfs4)} --vers 4.1 ls -R '${ctx.server.url}/vfs/${DEEP_DIR}' > /dev/null`,
    ],
    theirs: (ctx) => ["sh", "-c", `ls -R '${path.join(ctx.exportDir, DEEP_DIR)}' > /dev/null`],
    prepare: (ctx) => prepareFileCases(ctx),
  };
}

/**
 * All 1,000 files in one `nfs4 cat`, against a shell loop running `nfs-cat`
 * once per file (it takes one file): the files/s target. What one nfs4
 * process costs is the start-up row's.
 */
function catOneCase(): BenchCase {
  return {
    id: "cat-1000-one",
    title: `cat ${CAT_FILES}×4 KiB, one process`,
    theirsName: "nfs-cat loop",
    files: CAT_FILES,
    bytes: () => CAT_FILES * CAT_FILE_SIZE,
    ours: (ctx) => [
      "sh",
      "-c",
      `${quote(ctx.nfs4)} --vers 4.1 cat ${
        Array.from({ length: CAT_FILES }, (_, i) => `'${ctx.server.url}/vfs/${CAT_DIR}/f${i + 1}'`)
          .join(" ")
      } > /dev/null`,
    ],
    theirs: (ctx) =>
      shellLoop(
        ["nfs-cat"],
        (i) => `nfs://127.0.0.1/vfs/${CAT_DIR}/f${i}?version=4&nfsport=${ctx.server.port}`,
      ),
    prepare: (ctx) => prepareFileCases(ctx),
  };
}

/** `cp -r` of the tree of small files, to the server or from it; local `cp -r` beside it. */
function treeCase(direction: "up" | "down"): BenchCase {
  // A fresh destination for each run (the server never sees a tree reused
  // or removed behind its back while it may still cache it).
  const runs = { nfs4: 0, local: 0 };
  const target = (ctx: BenchContext, who: "nfs4" | "local") =>
    path.join(
      direction === "up" ? ctx.exportDir : ctx.localDir,
      `${TREE_DIR}-${direction}-${who}-${runs[who]}`,
    );
  const source = (ctx: BenchContext) =>
    path.join(direction === "up" ? ctx.localDir : ctx.exportDir, TREE_DIR);
  const who = (tool: string) => tool === "nfs4" ? "nfs4" : "local";
  return {
    id: `cp-r-10k-${direction}`,
    title: `cp -r ${TREE_FILES}×4 KiB ${direction === "up" ? "local → NFS" : "NFS → local"}`,
    theirsName: "local cp -r",
    files: TREE_FILES,
    bytes: () => TREE_FILES * CAT_FILE_SIZE,
    ours: (ctx) =>
      direction === "up"
        ? [
          ...ctx.nfs4,
          "--vers",
          "4.1",
          "cp",
          "-r",
          source(ctx),
          `${ctx.server.url}/vfs/${path.basename(target(ctx, "nfs4"))}`,
        ]
        : [
          ...ctx.nfs4,
          "--vers",
          "4.1",
          "cp",
          "-r",
          `${ctx.server.url}/vfs/${TREE_DIR}`,
          target(ctx, "nfs4"),
        ],
    // The same tree copied between two local directories (tmpfs): the floor.
    theirs: (ctx) => ["cp", "-r", source(ctx), target(ctx, "local")],
    prepare: async (ctx, tool) => {
      await prepareFileCases(ctx);
      await fsp.rm(target(ctx, who(tool)), { recursive: true, force: true });
      runs[who(tool)]++;
    },
    verify: async (ctx, tool) => {
      const dest = target(ctx, who(tool));
      const dirs = await fsp.readdir(dest);
      const last = await fsp.readFile(
        path.join(dest, `d${TREE_DIRS - 1}`, `f${TREE_FILES_PER_DIR - 1}`),
      );
      if (dirs.length !== TREE_DIRS || last.length !== CAT_FILE_SIZE) {
        throw new Error(`${dest}: the tree was not copied whole`);
      }
    },
  };
}

function versionCase(): BenchCase {
  return {
    id: "start-version",
    title: "start-up: nfs4 --version",
    bytes: () => 0,
    ours: (ctx) => [...ctx.nfs4, "--version"],
  };
}

function catOneFileCase(): BenchCase {
  return {
    id: "start-cat-1",
    title: "start-up: cat of one 4 KiB file",
    files: 1,
    bytes: () => CAT_FILE_SIZE,
    ours: (ctx) => [
      "sh",
      "-c",
      `${quote(ctx.nfs4)} --vers 4.1 cat '${ctx.server.url}/vfs/${CAT_DIR}/f1' > /dev/null`,
    ],
    theirs: (ctx) => ["sh", "-c", `nfs-cat '${libnfsUrl(ctx, `${CAT_DIR}/f1`)}' > /dev/null`],
    prepare: (ctx) => prepareFileCases(ctx),
  };
}

/** The many-files rows, in the order they are printed. */
export const FILE_CASES: BenchCase[] = [
  listCase(false),
  listCase(true),
  listCase(true, true),
  listRecursiveCase(),
  catOneCase(),
  treeCase("up"),
  treeCase("down"),
  versionCase(),
  catOneFileCase(),
];
