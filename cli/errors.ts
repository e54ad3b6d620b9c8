/**
 * Turning errors into the one line `nfs4: …` prints, and into exit codes.
 * Every message the CLI shows for a failure is decided here.
 *
 * Errors of lower layers are recognised by `name`, not by class, so this
 * file depends on no module of the RPC or state layers (and survives a
 * bundler duplicating a class).
 * @module
 */

import { formatHostPort, type NfsUrl, urlForPath, urlPath } from "../lib/client/url.ts";
import { NfsError } from "../lib/client/errors.ts";
import { ExitCode } from "./exit_codes.ts";

/** The URL a connection was made for, of errors that happened while making it. */
const connectUrls = new WeakMap<object, NfsUrl>();

/**
 * Remembers that `err` came from connecting to the server of `url` (as the
 * user typed it), so {@linkcode describeError} names it even where the
 * command gives no URL (an error that ends the command).
 */
export function noteConnectUrl(err: unknown, url: NfsUrl): void {
  if (typeof err === "object" && err !== null && !connectUrls.has(err)) connectUrls.set(err, url);
}

/** What the command was doing when the error happened, to name it in the message. */
export interface ErrorContext {
  /** The URL being worked on. */
  readonly url?: NfsUrl | undefined;
  /** The `--timeout` in force, in seconds. */
  readonly timeoutSeconds?: number | undefined;
}

/** System error codes of a connection, in the words of strerror(3). */
const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ECONNABORTED: "Connection aborted",
  EPIPE: "Broken pipe",
  ETIMEDOUT: "Connection timed out",
  EHOSTUNREACH: "No route to host",
  EHOSTDOWN: "Host is down",
  ENETUNREACH: "Network is unreachable",
  ENETDOWN: "Network is down",
  EADDRNOTAVAIL: "Cannot assign requested address",
  ENOTFOUND: "Name or service not known",
  EAI_NONAME: "Name or service not known",
  EAI_AGAIN: "Temporary failure in name resolution",
};

type Fields = Record<string, unknown>;

function fields(err: unknown): Fields {
  return typeof err === "object" && err !== null ? (err as Fields) : {};
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : "";
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** `host:port` of the error itself when it says, else of the URL being worked on. */
function endpoint(err: unknown, context: ErrorContext): string | undefined {
  const f = fields(err);
  const host = str(f.host);
  const port = num(f.port);
  if (host !== undefined && port !== undefined) return formatHostPort({ host, port });
  return context.url ? formatHostPort(context.url) : undefined;
}

/** Prefixes `host:port: ` unless the message already names the endpoint. */
function at(where: string | undefined, message: string): string {
  if (where === undefined || message.includes(where)) return message;
  return `${where}: ${message}`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** The path of an NfsError as a URL on the server the user named. */
function nfsErrorWhere(err: NfsError, context: ErrorContext): string {
  const url = context.url;
  const path = err.path;
  if (path === undefined) return url?.text ?? err.op;
  if (path.startsWith("nfs://") || path.startsWith("NFS://") || !url) return path;
  if (path === url.path || path === urlPath(url)) return url.text;
  return path.startsWith("/") ? urlForPath(url, path) : path;
}

/** The errors an error was caused by, nearest first. */
function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  const seen = new Set<unknown>([err]);
  let cause = err instanceof Error ? err.cause : undefined;
  while (cause !== undefined && cause !== null && !seen.has(cause)) {
    out.push(cause);
    seen.add(cause);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return out;
}

const RPC_ERRORS = new Set([
  "RpcConnectionError",
  "RpcTimeoutError",
  "RpcAcceptedError",
  "RpcDeniedError",
]);

/**
 * The message of an error whose `path` field is a plain path the message
 * starts with (`/vfs/x: …`), with that path written as a URL.
 */
function withUrlPath(err: unknown, context: ErrorContext): string {
  const message = errorMessage(err);
  const path = str(fields(err).path);
  const url = context.url;
  if (path === undefined || url === undefined || !path.startsWith("/")) return message;
  if (!message.startsWith(`${path}: `)) return message;
  const where = path === url.path || path === urlPath(url) ? url.text : urlForPath(url, path);
  return `${where}: ${message.slice(path.length + 2)}`;
}

/**
 * Statuses told in the words of the errno the kernel's client turns them
 * into (fs/nfs/nfs4proc.c nfs4_map_errors), as `rm` or `mv` on a mount
 * would print them, the status still named: `Device or resource busy
 * (NFS4ERR_FILE_OPEN)` for a REMOVE or RENAME the server refuses while the
 * file is open (EBUSY; lib/state/error_table.ts waits it out only briefly).
 */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  NFS4ERR_FILE_OPEN: "Device or resource busy",
};

function isNfsError(err: unknown): err is NfsError {
  return err instanceof NfsError ||
    (errorName(err) === "NfsError" && typeof fields(err).statusName === "string");
}

/** The first line: what failed, where, and why. */
function headline(err: unknown, context: ErrorContext): string {
  const name = errorName(err);
  const f = fields(err);
  // A server-wide refusal, named by the server (`server does not support NFSv4.1`).
  if (name === "MinorVersionError") return at(endpoint(err, context), errorMessage(err));
  if (isNfsError(err)) {
    const message = errorMessage(err);
    // The message is `where: Message (NFS4ERR_X)`; keep the part after the where.
    const where = err.path ?? err.op;
    const words = ERRNO_WORDS[err.statusName];
    const rest = words !== undefined
      ? `${words} (${err.statusName})`
      : message.startsWith(`${where}: `)
      ? message.slice(where.length + 2)
      : message;
    return `${nfsErrorWhere(err, context)}: ${rest}`;
  }
  switch (name) {
    case "UsageError":
      return errorMessage(err);
    case "IncompleteCopyError": {
      // `DEST: copy failed part-way, destination is incomplete: WHY`, WHY
      // told as its own error would be (without naming DEST twice).
      const where = str(f.destination) ?? "";
      const cause = err instanceof Error ? err.cause : undefined;
      let why = cause !== undefined ? headline(cause, context) : "";
      if (why.startsWith(`${where}: `)) why = why.slice(where.length + 2);
      return `${where}: copy failed part-way, destination is incomplete${why ? `: ${why}` : ""}`;
    }
    case "BadStateError":
      return withUrlPath(err, context);
    case "RecoveryError": {
      // Recovery gave up; the RPC failure behind it says more than "gave up".
      const rpc = causes(err).find((cause) => RPC_ERRORS.has(errorName(cause)));
      if (rpc !== undefined) return headline(rpc, context);
      return at(endpoint(err, context), errorMessage(err));
    }
    case "RpcConnectionError": {
      const code = str(f.code);
      const words = code !== undefined ? CONNECTION_CODES[code] : undefined;
      if (words !== undefined) {
        if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "EAI_AGAIN") {
          const host = str(f.host) ?? context.url?.host;
          return host !== undefined ? `${host}: ${words}` : words;
        }
        return at(endpoint(err, context), words);
      }
      return at(endpoint(err, context), errorMessage(err));
    }
    case "RpcTimeoutError": {
      const ms = num(f.timeoutMs) ??
        (context.timeoutSeconds !== undefined ? context.timeoutSeconds * 1000 : undefined);
      const message = ms !== undefined ? `timed out after ${seconds(ms)}` : "timed out";
      return at(endpoint(err, context), message);
    }
    case "RpcAcceptedError": {
      const stat = str(f.acceptStatName) ?? "";
      if (
        stat === "PROG_UNAVAIL" || stat === "PROG_MISMATCH" ||
        /PROG_(UNAVAIL|MISMATCH)/.test(errorMessage(err))
      ) {
        const mismatch = fields(f.mismatch);
        const low = num(mismatch.low);
        const high = num(mismatch.high);
        const detail = low !== undefined && high !== undefined
          ? ` (it offers versions ${low} to ${high})`
          : "";
        return at(endpoint(err, context), `server does not speak NFSv4${detail}`);
      }
      return at(endpoint(err, context), errorMessage(err));
    }
    case "RpcDeniedError": {
      const message = errorMessage(err);
      if (f.rejectStat === 0 || /RPC_MISMATCH/.test(message)) {
        // MSG_DENIED RPC_MISMATCH (RFC 5531 §9): the RPC version, not NFS,
        // was refused; this client speaks RPC version 2, the only one defined.
        const mismatch = fields(f.mismatch);
        const low = num(mismatch.low);
        const high = num(mismatch.high);
        const offers = low === undefined || high === undefined
          ? ""
          : low === high
          ? `: it accepts RPC version ${low} only`
          : `: it accepts RPC versions ${low} to ${high}`;
        return at(endpoint(err, context), `server rejected RPC version 2${offers} (RPC_MISMATCH)`);
      }
      const auth = str(f.authStatName);
      if (auth !== undefined) {
        return at(endpoint(err, context), `server refused the credentials (${auth})`);
      }
      return at(endpoint(err, context), message);
    }
    default:
      if (name.startsWith("Rpc")) return at(endpoint(err, context), errorMessage(err));
      // `/vfs/loop: Too many levels of symbolic links`: the path as a URL.
      return withUrlPath(err, context);
  }
}

/**
 * The message `nfs4:` prints for `err` (without the `nfs4: ` prefix). One
 * line; with `verbose`, each error of the cause chain follows on its own
 * line as `  caused by: Name: message`.
 *
 * @example
 * ```ts
 * describeError(new NfsError(2, "LOOKUP", { path: "/vfs/x" }), false, { url });
 * // "nfs://127.0.0.1:2049/vfs/x: No such file or directory (NFS4ERR_NOENT)"
 * ```
 */
export function describeError(err: unknown, verbose: boolean, context: ErrorContext = {}): string {
  const noted = typeof err === "object" && err !== null ? connectUrls.get(err) : undefined;
  if (context.url === undefined && noted !== undefined) context = { ...context, url: noted };
  const lines = [headline(err, context)];
  if (verbose) {
    for (const cause of causes(err)) {
      const name = errorName(cause);
      const code = str(fields(cause).code);
      const label = name ? `${name}${code ? ` (${code})` : ""}: ` : "";
      lines.push(`  caused by: ${label}${errorMessage(cause)}`);
    }
  }
  return lines.join("\n");
}

/** The exit code for an error that ended the command. */
export function exitCodeFor(err: unknown): ExitCode {
  const name = errorName(err);
  if (name === "BrokenPipeError") return ExitCode.OK;
  if (name === "Interrupted") {
    return fields(err).signal === "SIGTERM" ? ExitCode.SIGTERM : ExitCode.SIGINT;
  }
  if (name === "UsageError") return ExitCode.USAGE;
  if (name === "CommanderError" || name === "InvalidArgumentError") {
    return fields(err).exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  }
  return ExitCode.FAILURE;
}
