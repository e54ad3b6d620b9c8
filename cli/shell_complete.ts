/**
 * Tab completion in `nfs4 shell`: the verb at the start of a command, a
 * verb's options after `-`, and otherwise remote paths, by READDIR of the
 * directory being completed (kept for two seconds, so pressing Tab again
 * costs nothing); `put`, `lcd` and get's LOCAL complete local paths, `cd`
 * and `lcd` directories only (and links, which may lead to one). Candidates
 * are quoted as the line needs (`'my file'`), or go on in the quoting the
 * word was begun in (`"my file"`, `my\ file`), directories end in `/`.
 * @module
 */

import * as fs from "node:fs";
import type { Nfs4ClientApi } from "../lib/client/api.ts";
import { displayByteString, hasEscapedBytes } from "../lib/client/names.ts";
import { isPrintableCodePoint } from "./ls_quote.ts";
import { BUILTINS } from "./shell_builtins.ts";
import { COMMAND_VERBS, resolvePath } from "./shell_paths.ts";
import { completeWord, wordsBeingTyped } from "./shell_words.ts";

/** How long a directory's listing is reused for completion. */
export const LISTING_TTL_MS = 2000;

/** What completion needs of the shell. */
export interface CompletionContext {
  readonly client: Nfs4ClientApi;
  readonly cwd: string;
  optionsOf(verb: string): readonly { short?: string | undefined; long?: string | undefined }[];
}

/** A name completion may offer; `link`: a symbolic link, which may lead to a directory. */
interface Entry {
  readonly name: string;
  readonly dir: boolean;
  readonly link?: boolean;
}

const listings = new Map<
  string,
  { at: number; names: Promise<Entry[]> }
>();

function remoteNames(
  client: Nfs4ClientApi,
  dir: string,
): Promise<Entry[]> {
  const cached = listings.get(dir);
  if (cached && performance.now() - cached.at < LISTING_TTL_MS) return cached.names;
  const names = (async () => {
    const out: Entry[] = [];
    for await (const entry of client.readdir(dir)) {
      // A name that is not UTF-8, or holds a control character, cannot be
      // typed (the shell's words have no escapes for it) and must not reach
      // the terminal raw: leave it to ls, which quotes it.
      if (!typable(entry.name)) continue;
      out.push({
        name: entry.name,
        dir: entry.kind === "directory" ||
          (entry.kind === "symlink" && entry.linkTarget?.endsWith("/") === true),
        link: entry.kind === "symlink",
      });
    }
    return out;
  })();
  names.catch(() => listings.delete(dir));
  listings.set(dir, { at: performance.now(), names });
  return names;
}

/** Whether `name` is UTF-8 of printable characters only (what completion may insert). */
function typable(name: string): boolean {
  if (hasEscapedBytes(name)) return false;
  for (const c of name) if (!isPrintableCodePoint(c.codePointAt(0)!)) return false;
  return true;
}

function localNames(dir: string): Entry[] {
  try {
    return fs.readdirSync(dir || ".", { withFileTypes: true })
      .filter((d) => typable(d.name))
      .map((d) => ({ name: d.name, dir: d.isDirectory(), link: d.isSymbolicLink() }));
  } catch {
    return [];
  }
}

/** Completes the end of `line`: readline's [candidates, text replaced]. */
export async function completeLine(
  shell: CompletionContext,
  line: string,
): Promise<[string[], string]> {
  const words = wordsBeingTyped(line);
  const current = words.at(-1)!;
  const typed = line.slice(current.start);
  const prefix = current.text;
  if (words.length === 1) {
    const verbs = [...BUILTINS.keys(), ...COMMAND_VERBS.filter((v) => v !== "probe")].filter((v) =>
      v.startsWith(prefix)
    );
    return [[...new Set(verbs)].sort().map((v) => `${v} `), typed];
  }
  const verb = words[0]!.text;
  if (prefix.startsWith("-")) {
    const names = shell.optionsOf(verb)
      .flatMap((o) => [o.long, o.short])
      .filter((n): n is string => n !== undefined && n.startsWith(prefix));
    return [[...new Set(names)].sort(), typed];
  }
  const slash = prefix.lastIndexOf("/");
  const dirPart = slash >= 0 ? prefix.slice(0, slash + 1) : "";
  const namePart = prefix.slice(slash + 1);
  const local = (verb === "put" && words.length === 2) || verb === "lcd" ||
    (verb === "get" && words.length === 3);
  let entries: Entry[];
  if (local) {
    entries = localNames(dirPart);
  } else {
    const dir = resolvePath(shell.cwd, dirPart || ".");
    entries = await remoteNames(shell.client, dir).catch(() => []);
  }
  // cd and lcd take a directory (or a link that may lead to one), as bash's cd completes.
  const dirsOnly = verb === "cd" || verb === "lcd";
  const matches = entries
    .filter((e) =>
      e.name.startsWith(namePart) && (!dirsOnly || e.dir || e.link === true) &&
      (namePart.startsWith(".") || !e.name.startsWith(".") || namePart !== "")
    )
    .map((e) => dirPart + displayByteString(e.name) + (e.dir ? "/" : ""))
    .sort();
  // One match that is a file ends the word (an open quote closed); a
  // directory leaves it open. Each goes on in the quoting typed so far
  // (`cat "my fi` to `cat "my file" `), as bash completes.
  const candidates = matches.map((m) =>
    completeWord(current, m, matches.length === 1 && !m.endsWith("/"))
  );
  return [candidates, typed];
}
