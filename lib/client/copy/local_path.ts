/**
 * POSIX path arithmetic on byte strings (local names whose bytes are not
 * UTF-8 hold lone surrogates, see lib/xdr/byte_string.ts), with the results
 * of node:path's posix functions. node:path itself will not do: Bun's is
 * native and turns a lone surrogate into U+FFFD, so `join("d", "l\udce9")`
 * would name another file. These touch nothing but the `/`, `.` and `..`
 * in a string.
 * @module
 */

import process from "node:process";

/** `path` with `.`, `..` and repeated slashes resolved, as path.posix.normalize. */
export function normalizePath(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out.at(-1) !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  let joined = out.join("/");
  if (absolute) joined = "/" + joined;
  if (joined === "") return absolute ? "/" : trailing ? "./" : ".";
  return trailing && joined !== "/" ? joined + "/" : joined;
}

/** The parts joined with `/` and normalized, as path.posix.join. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return normalizePath(joined);
}

/** Everything before the last name (trailing slashes ignored), as path.posix.dirname. */
export function dirnamePath(path: string): string {
  if (path === "") return ".";
  const hasRoot = path.startsWith("/");
  let end = -1;
  let inName = false;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") inName = true;
    else if (inName) {
      end = i;
      break;
    }
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return path.slice(0, end);
}

/** The last name (trailing slashes ignored), as path.posix.basename. */
export function basenamePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** `path` made absolute from the working directory, as path.posix.resolve. */
export function resolvePath(path: string): string {
  const full = path.startsWith("/") ? path : `${process.cwd()}/${path}`;
  const normal = normalizePath(full);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}
