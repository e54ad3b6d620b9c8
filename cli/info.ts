/**
 * `nfs4 info URL` (alias `probe`): what this server is, and does it answer.
 *
 * Answers the first two questions of a "server or network?" ticket without
 * a mount: RPC NULL round trips (as `rpcinfo -t`), the NFSv4 minor
 * versions served, who the server says it is (EXCHANGE_ID), what a session
 * gets (CREATE_SESSION), the lease, the export's limits and attributes, the
 * security flavours of the path, the exports under `/` (with their full
 * paths: the pseudo file system is walked down to them), and the server's
 * clock. The work is lib/client/probe.ts; this file prints it. Nothing is
 * left on the server, and nothing is written unless `--write-probe`; a
 * probe file that may be left is named on stderr and fails the command, as
 * does a path that does not exist (one line, nothing printed). What the
 * server names (its implementation, the exports under `/`) is printed
 * safely: see lib/client/probe.ts and the quoting of `ls`.
 * @module
 */

import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import {
  type ProbeFileLeft,
  probeServer,
  type ServerIdentity,
  type ServerProbe,
} from "../lib/client/probe.ts";
import { type NfsUrl, parseNfsUrl, urlForPath, urlPath } from "../lib/client/url.ts";
import { connectOptions } from "./connect.ts";
import type { CliContext, CommandSession } from "./context.ts";
import { describeError } from "./errors.ts";
import { readGlobalOptions, type RootCommand } from "./globals.ts";
import { jsonCount, jsonTime } from "./json_values.ts";
import { quoteName } from "./ls_quote.ts";

const HELP = `
Examples:
  $ nfs4 info nfs://127.0.0.1/vfs
  $ nfs4 probe --count 10 nfs://[::1]:2050/
  $ nfs4 info --json nfs://server/export | jq .identity.implementation
  $ nfs4 info --write-probe nfs://server/export/tmp   # also measures clock skew

Asks, in this order: RPC NULL (--count times), a stateless COMPOUND in each
of NFSv4.0, 4.1 and 4.2, then one client of the highest version served:
EXCHANGE_ID and CREATE_SESSION (4.1+), GETATTR of every supported attribute
of the path and of /, SECINFO_NO_NAME (4.1+) or SECINFO (4.0), READDIR of /
and of the pseudo-fs directories below it, down to the exports (where the
fsid changes; at most 8 levels and 1000 directories, said when cut).
The client is closed at the end (DESTROY_SESSION, DESTROY_CLIENTID).
--write-probe creates and removes one file, .nfs4-probe-XXXXXX, in the
URL's directory (or the directory of the file it names); one that could not
be removed is named on stderr, and the exit status is 1.
`;

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1 || n > 1000) {
    throw new InvalidArgumentError("Expected a whole number from 1 to 1000");
  }
  return n;
}

/** Adds `info` (and its alias `probe`) to the program. */
export function registerInfo(program: RootCommand, ctx: CliContext): void {
  program
    .command("info")
    .alias("probe")
    .description("describe a server: versions, identity, session, limits, exports, clock")
    .argument("<url>", "nfs:// URL of the server (the path chooses the export)")
    .addOption(
      new Option("--count <n>", "RPC NULL round trips to time").argParser(parseCount).default(3),
    )
    .option("--write-probe", "create and remove a file to measure the server's clock skew")
    .option("--json", "print one JSON object")
    .addHelpText("after", HELP)
    .action(async (text, opts, cmd) => {
      const globals = readGlobalOptions(cmd.optsWithGlobals());
      const url = parseNfsUrl(text);
      const session = ctx.session(globals);
      try {
        await infoUrl(session, url, {
          count: opts.count,
          writeProbe: opts.writeProbe === true,
          json: opts.json === true,
        });
      } finally {
        await session.close();
      }
    });
}

/** Probes the server of `url` and prints what it found. */
export async function infoUrl(
  session: CommandSession,
  url: NfsUrl,
  options: { count: number; writeProbe: boolean; json: boolean },
): Promise<void> {
  const ctx = session.ctx;
  const probe = await probeServer({
    ...connectOptions(url, session.globals, session.traceSink, {
      signal: ctx.interruption.signal,
    }),
    path: urlPath(url),
    count: options.count,
    writeProbe: options.writeProbe,
    // A probe file that may stay is a failure, named at once: also when the
    // probe then ends with an error or an interrupt (exit 130/143).
    onProbeFileLeft: (left) => {
      ctx.failed = true;
      ctx.error(probeFileLeftLine(session, url, left), left.error, url);
    },
  }).catch((err) => {
    session.report(err, url);
    return undefined;
  });
  if (!probe) return;
  if (options.json) {
    await session.out.write(JSON.stringify(probeJson(probe), null, 2) + "\n");
  } else {
    await session.out.write(formatProbe(probe));
  }
  // Serving no version is a failure; what could not be learned otherwise is news, not failure.
  if (!probe.minorVersions.some((m) => m.served)) {
    session.report(new Error(`${url.text}: the server serves none of NFSv4.0, 4.1, 4.2`));
  }
}

/**
 * The `--json` object: the probe's fields as they are, with the values the
 * rules of cli/json_values.ts type differently from the probe's decimal
 * strings: maxread, maxwrite, maxfilesize and clock.timeDeltaNs are sizes
 * and a duration in nanoseconds, numbers (as `stat --json` writes
 * maxread...). The fsid is `"major:minor"` as there. The implementation's
 * `date` (nii_date, an nfstime4) is a time, `{ seconds, nseconds }`, as
 * `stat --json` writes mtime.
 */
export function probeJson(p: ServerProbe): Record<string, unknown> {
  const count = (value: string | undefined) =>
    value === undefined ? undefined : jsonCount(BigInt(value));
  return {
    ...p,
    fileSystem: p.fileSystem && {
      ...p.fileSystem,
      maxread: count(p.fileSystem.maxread),
      maxwrite: count(p.fileSystem.maxwrite),
      maxfilesize: count(p.fileSystem.maxfilesize),
    },
    clock: p.clock && { ...p.clock, timeDeltaNs: count(p.clock.timeDeltaNs) },
    identity: p.identity && {
      ...p.identity,
      implementation: p.identity.implementation && {
        ...p.identity.implementation,
        date: jsonTime(p.identity.implementation.date),
      },
    },
  };
}

/**
 * The line naming a `--write-probe` file that may be left on the server:
 * `nfs://h/vfs/.nfs4-probe-k3x9q0: Permission denied (NFS4ERR_ACCESS) (the
 * --write-probe file was not removed: remove it by hand)`.
 */
function probeFileLeftLine(session: CommandSession, url: NfsUrl, left: ProbeFileLeft): string {
  const where = urlForPath(url, left.path);
  let why = describeError(left.error, false, {
    url,
    timeoutSeconds: session.globals.timeoutSeconds,
  });
  if (why.startsWith(`${where}: `)) why = why.slice(where.length + 2);
  return left.certainty === "left"
    ? `${where}: ${why} (the --write-probe file was not removed: remove it by hand)`
    : `${where}: its OPEN's outcome is unknown and it could not be looked up (${why}): ` +
      "the --write-probe file may be left behind, remove it by hand if it is there";
}

const ms = (value: number) => value.toFixed(value < 10 ? 2 : 1);

/**
 * `nfs-ganesha (domain nfs-ganesha.org, built 2024-01-02)`; a date no `Date`
 * holds (past ±8.64e15 ms, where `toISOString()` throws "Invalid time
 * value") is given in seconds since the epoch, as the server sent it.
 */
function implementationText(impl: ServerIdentity["implementation"]): string {
  if (!impl) return "not given";
  const date = new Date(Number(impl.date.seconds) * 1000);
  const built = Number.isNaN(date.getTime())
    ? `${impl.date.seconds} s since 1970`
    : date.toISOString().slice(0, date.toISOString().indexOf("T"));
  return `${impl.name} (domain ${impl.domain}, built ${built})`;
}

/** The human form: short sections, `name  value` lines. */
export function formatProbe(p: ServerProbe): string {
  const lines: string[] = [];
  const section = (title: string, rows: [string, string | undefined][]) => {
    const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
    if (shown.length === 0) return;
    lines.push(title);
    const width = Math.max(...shown.map(([name]) => name.length));
    for (const [name, value] of shown) lines.push(`  ${name.padEnd(width)}  ${value}`);
    lines.push("");
  };
  const nul = p.rpcNull;
  section(`Server ${p.server}`, [
    [
      "RPC NULL",
      `${nul.answered}/${nul.sent} answered, ` +
      `rtt min/avg/max ${ms(nul.minMs)}/${ms(nul.avgMs)}/${ms(nul.maxMs)} ms`,
    ],
    ...p.minorVersions.map((m): [string, string] => [
      `NFSv4.${m.minorVersion}`,
      `${m.served ? "served" : "not served"} (${m.answer})`,
    ]),
  ]);
  const id = p.identity;
  if (id) {
    section(`Identity (EXCHANGE_ID, NFSv4.${p.detailsVersion})`, [
      ["implementation", implementationText(id.implementation)],
      ["server owner", `major ${id.ownerMajorId}, minor ${id.ownerMinorId}`],
      ["server scope", id.scope],
      ["flags", id.flags.join(" ") || "none"],
      ["pNFS roles", id.pnfsRoles.join(", ") || "none stated"],
      ["state protection", id.stateProtection],
    ]);
  }
  const s = p.session;
  if (s) {
    section("Session (CREATE_SESSION)", [
      ["slots", String(s.slots)],
      ["max request", `${s.maxRequestSize} B`],
      ["max response", `${s.maxResponseSize} B`],
      ["max cached response", `${s.maxResponseSizeCached} B`],
      ["max operations", String(s.maxOperations)],
      ["backchannel", s.backchannel ? "granted" : "not granted"],
      ["RDMA", s.rdma ? "yes" : "no (TCP)"],
      ["persistent", s.persistent ? "yes" : "no"],
    ]);
  }
  const fs = p.fileSystem;
  section(`Path ${p.path}`, [
    ["lease time", p.leaseSeconds !== undefined ? `${p.leaseSeconds} s` : undefined],
    ["fsid", fs?.fsid],
    ["maxread", fs?.maxread !== undefined ? `${fs.maxread} B` : undefined],
    ["maxwrite", fs?.maxwrite !== undefined ? `${fs.maxwrite} B` : undefined],
    ["maxfilesize", fs?.maxfilesize !== undefined ? `${fs.maxfilesize} B` : undefined],
    ["maxname", fs?.maxname !== undefined ? `${fs.maxname} B` : undefined],
    ["security", p.security?.join(", ")],
    [
      "supported attrs",
      fs ? `${fs.supportedAttrs.length}: ${fs.supportedAttrs.join(" ")}` : undefined,
    ],
  ]);
  if (p.exports) {
    section(
      "Under / (pseudo file system)",
      p.exports.map((e): [string, string] => [
        // Names the server listed: quoted when they need it, as `ls` does on a terminal.
        quoteName(e.path, { style: "shell-escape" }).text,
        `fsid ${e.fsid ?? "unknown"}${e.separateFs ? " (export)" : ""}`,
      ]),
    );
  }
  if (p.clock) {
    section("Clock", [
      ["time_delta", p.clock.timeDeltaNs !== undefined ? `${p.clock.timeDeltaNs} ns` : undefined],
      [
        "skew",
        p.clock.skewMs !== undefined
          ? `${p.clock.skewMs >= 0 ? "+" : ""}${ms(p.clock.skewMs)} ms (server minus this host)`
          : undefined,
      ],
    ]);
  }
  if (p.notLearned.length > 0) {
    lines.push("Not learned");
    for (const what of p.notLearned) lines.push(`  - ${what}`);
    lines.push("");
  }
  return lines.join("\n");
}
