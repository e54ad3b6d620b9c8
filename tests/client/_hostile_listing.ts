/**
 * A scripted server (tests/state/_scripted.ts) that lists directories, reads
 * symlinks and reports attributes as a test says, however wrong: for the
 * tests of what the client makes of a broken or hostile server's READDIR,
 * READLINK, GETFH and GETATTR replies (hostile_listing_test.ts here and in
 * tests/cli/).
 *
 * The scripted server answers READDIR and READLINK with NFS4ERR_NOTSUPP (the
 * last op of the COMPOUNDs the client sends for them); this one replaces that
 * answer with the test's. It follows the current file handle through PUTROOTFH,
 * PUTFH and LOOKUP by path, so a GETATTR or GETFH result can be rewritten for
 * the object at a path. The scripted tree has files and directories only: a
 * symlink is a file whose GETATTR a test rewrites to NF4LNK.
 * @module
 */

import type { CompoundReply, CompoundRequest, OpOutcome } from "../../lib/nfs4/compound.ts";
import type { FileAttributes } from "../../lib/nfs4/attrs.ts";
import type { DecodedFattr } from "../../lib/nfs4/attrs.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { ReaddirArgs, ReaddirResult } from "../../lib/nfs4/ops/readdir.ts";
import { type FileNode, ScriptedServer, type ScriptedServerOptions } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";

/** An op's answer: a status and, when it is NFS4_OK, the result. */
export interface Answer<T> {
  readonly status: number;
  readonly value?: T;
}

/** What the server says, where it says what a test wants. */
export interface Hostility {
  /** The answer to a READDIR of the directory at `path` (`call`: 0 for the first READDIR of any). */
  readonly readdir?: (path: string, args: ReaddirArgs, call: number) => Answer<ReaddirResult>;
  /** The answer to a READLINK of the object at `path`. */
  readonly readlink?: (path: string) => Answer<string>;
  /** The attributes a GETATTR returns for `path`, given those the scripted server would. */
  readonly attrs?: (path: string, attrs: FileAttributes) => FileAttributes;
  /** The handle GETFH returns for `path`, given the scripted server's. */
  readonly getfh?: (path: string, fh: Uint8Array) => Uint8Array;
}

/** A {@linkcode ScriptedServer} answering as {@linkcode Hostility} says. */
export class HostileServer extends ScriptedServer {
  readonly #hostility: Hostility;
  /** READDIRs answered so far. */
  readdirs = 0;
  /** READLINKs answered so far. */
  readlinks = 0;

  constructor(options: ScriptedServerOptions, hostility: Hostility) {
    super(options);
    this.#hostility = hostility;
  }

  #byHandle(fh: Uint8Array): FileNode | undefined {
    const key = fh.join(",");
    const visit = (node: FileNode): FileNode | undefined => {
      if (node.fh.join(",") === key) return node;
      for (const child of node.children.values()) {
        const found = visit(child);
        if (found) return found;
      }
      return undefined;
    };
    return visit(this.root);
  }

  override handle(request: CompoundRequest, conn: number): CompoundReply {
    const reply = super.handle(request, conn);
    const outcomes: OpOutcome[] = [...reply.outcomes];
    let status = reply.status;
    let path: string | undefined;
    for (let i = 0; i < outcomes.length; i++) {
      const op = request.ops[i]!;
      const outcome = outcomes[i]!;
      switch (op.name) {
        case "PUTROOTFH":
          path = "/";
          break;
        case "PUTFH":
          path = this.#byHandle(op.args as Uint8Array)?.path;
          break;
        case "LOOKUP":
          if (path !== undefined) path = path === "/" ? `/${op.args}` : `${path}/${op.args}`;
          break;
        case "GETATTR": {
          const rewrite = this.#hostility.attrs;
          if (rewrite && path !== undefined && outcome.status === S.NFS4_OK) {
            const decoded = outcome.value as DecodedFattr;
            outcomes[i] = {
              ...outcome,
              value: { ...decoded, attrs: rewrite(path, decoded.attrs) },
            };
          }
          break;
        }
        case "GETFH": {
          const rewrite = this.#hostility.getfh;
          if (rewrite && path !== undefined && outcome.status === S.NFS4_OK) {
            outcomes[i] = { ...outcome, value: rewrite(path, outcome.value as Uint8Array) };
          }
          break;
        }
        case "READDIR":
        case "READLINK": {
          if (path === undefined || outcome.status !== S.NFS4ERR_NOTSUPP) break;
          const answer = op.name === "READDIR"
            ? this.#hostility.readdir?.(path, op.args as ReaddirArgs, this.readdirs++)
            : this.#hostility.readlink?.(path);
          if (op.name === "READLINK") this.readlinks++;
          if (!answer) break;
          outcomes[i] = {
            opnum: outcome.opnum,
            name: outcome.name,
            status: answer.status,
            ...(answer.status === S.NFS4_OK ? { value: answer.value } : {}),
          };
          status = answer.status;
          break;
        }
      }
    }
    return { ...reply, status, outcomes };
  }
}

/** Runs `fn` with a {@linkcode HostileServer} on a TCP port (`url`: `nfs://HOST:PORT`). */
export async function withHostileServer(
  hostility: Hostility,
  fn: (served: { url: string; host: string; port: number; server: HostileServer }) => Promise<void>,
  options: ScriptedServerOptions = {},
): Promise<void> {
  const server = new HostileServer({ now: () => performance.now(), ...options }, hostility);
  const served = await startScriptedNfsServer(server);
  try {
    await fn({ url: served.url, host: served.host, port: served.port, server });
    if (served.errors.length > 0) throw served.errors[0];
  } finally {
    await served.close();
  }
}
