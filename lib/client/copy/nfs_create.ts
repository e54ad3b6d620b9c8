/**
 * A copy's new file on a server whose OPEN waits for its data: a small
 * file is then made, written, given its attributes and closed in one
 * COMPOUND (Nfs4Client.createWriteCloseIn, lib/state/small_create.ts)
 * instead of an OPEN and then WRITE+SETATTR+CLOSE. `cp -r` of many small
 * files to a server spends its requests on these.
 *
 * Whatever cannot wait turns it into the ordinary writer at once (the
 * OPEN, then lib/client/copy/nfs_writer.ts), with the data held so far
 * written first: more data than a small file holds, or a hole. So does a
 * finish the one COMPOUND cannot take (a file larger than its file
 * system's WRITEs, a directory that cannot be walked, a server that refused
 * the current stateid), and one whose COMPOUND made the file but stopped
 * at its WRITE: the ordinary writer goes on with that open. (NFSv4.0 and a
 * file that replaces another never come here: nfs_side.ts creates them at
 * once.) An owner to give (`cp -p`, chown with `onRefused`) goes in the
 * one COMPOUND, a SETATTR before the data; refused there (or by the
 * ordinary writer), the refusal is handed to `onRefused` at the finish,
 * which warns and says the attributes to finish with. Given, what the
 * server holds then is read back in the same COMPOUND (a GETATTR after
 * that SETATTR, as the ordinary writer's chown does too), for
 * {@linkcode DeferredCreateWriter.heldOwnership}. A file that is to take
 * its final name only while it is free (CreateOptions.placeAs) takes it in the same
 * COMPOUND where it can; {@linkcode DeferredCreateWriter.placement} says how
 * that went, and NfsSide.renameNoReplace finishes what is left.
 *
 * Nothing is sent before the finish, so a copy stopped before it leaves
 * nothing on the server; {@linkcode DeferredCreateWriter.settle} says so,
 * once what is in flight has settled (and starts nothing more), and the
 * caller then has no temporary to remove.
 * @module
 */

import type { SettableAttributes } from "../../nfs4/attrs.ts";
import type { FileHandle } from "../../nfs4/types.ts";
import type { CreatedInOne, NfsFile, Placing } from "../client.ts";
import type { NfsUrl } from "../url.ts";
import type { FinalAttrs, OwnerRefusal, Ownership, Reread, Writer } from "./side.ts";
import { checkOneWrite, concat, finalSettable, type NfsWriter } from "./nfs_writer.ts";
import { CopyError, IncompleteCopyError } from "./options.ts";
import { NfsError } from "../../nfs4/errors.ts";

/**
 * The ops of the one COMPOUND and of what may follow it: a failure naming
 * one of them answered this file's COMPOUND (its request was all sent); any
 * other (a deadline, a stop, a recovery that failed) may not have.
 */
const SHAPE_OPS: ReadonlySet<string> = new Set([
  "SEQUENCE",
  "PUTFH",
  "OPEN",
  "GETFH",
  "GETATTR",
  "WRITE",
  "VERIFY",
  "SETATTR",
  "CLOSE",
  "COMMIT",
]);

/**
 * The ops of an ordinary create (a walk to the directory, then the OPEN)
 * before the file exists: a failure one of them answered made nothing (RFC
 * 8881 §18.16.3, RFC 7530 §16.16.5: the create is part of the OPEN that
 * failed). Ops after the OPEN (GETFH, GETATTR, a SETATTR of the mode) fail
 * with the file made.
 */
const BEFORE_CREATE_OPS: ReadonlySet<string> = new Set([
  "SEQUENCE",
  "PUTROOTFH",
  "PUTFH",
  "LOOKUP",
  "OPEN",
]);

/**
 * Whether an ordinary create that failed with `error` may have made the
 * file: unless the server answered, at the OPEN or before it, a request
 * that had not run before. No answer (a deadline, a stop in flight), an
 * answer to a resend whose first run may have made it (NFS4ERR_EXIST from
 * a resent exclusive OPEN), or a failure after the OPEN: it may, as
 * lib/client/copy/file.ts judges a create that is not deferred
 * (outcomeUnknown, madeByFirstRun).
 */
function mayHaveMade(error: unknown): boolean {
  return !(error instanceof NfsError && BEFORE_CREATE_OPS.has(error.op) && !error.answeredResend);
}

/** What {@linkcode DeferredCreateWriter} needs of the side that made it. */
export interface DeferredCreate {
  /** The path, for messages. */
  readonly path: string;
  /** The final path (CreateOptions.placeAs) as shown in messages, when the file may take it. */
  readonly placedAs?: string;
  /** The server, for messages (CopyError.url). */
  readonly url?: NfsUrl;
  /** Whether a failure to give an owner is a refusal (to warn about), not a failure of the file. */
  isRefusal(error: unknown): boolean;
  /** Most bytes held for one COMPOUND. */
  readonly limit: number;
  /** The size of write sources read in. */
  readonly chunkSize: number;
  /** The ordinary create: OPEN now, and its writer. */
  create(): Promise<NfsWriter>;
  /** The one-COMPOUND shape, or undefined when it cannot be used (nothing sent). */
  createInOne(
    data: Uint8Array,
    settable: SettableAttributes,
    owner: SettableAttributes | undefined,
  ): Promise<CreatedInOne | undefined>;
  /** The ordinary writer of a file the one COMPOUND left open. */
  writerFor(file: NfsFile): NfsWriter;
}

/** Where a file made in one COMPOUND is: its handle and its directory's (for a LINK). */
export interface Placement {
  readonly fh: FileHandle;
  readonly parentFh: FileHandle | undefined;
  /** Whether the COMPOUND also took the final name (CreateOptions.placeAs), when it tried. */
  readonly placing?: Placing;
}

export class DeferredCreateWriter implements Writer {
  readonly chunkSize: number;
  readonly #create: DeferredCreate;
  /** Chunks held for the one COMPOUND, with what to call once they are let go. */
  #held: { data: Uint8Array; done: (() => void) | undefined }[] = [];
  #heldBytes = 0;
  /** The ordinary writer, once asked for: made, with the held chunks written to it. */
  #ordinary: Promise<NfsWriter> | undefined;
  /** The ordinary create's OPEN, once sent: whether it may have made the file (see mayHaveMade). */
  #ordinaryMade: Promise<boolean> | undefined;
  /** The ordinary writer itself, as soon as it exists (to abort it, whatever else failed). */
  #writer: NfsWriter | undefined;
  /** The one COMPOUND, once asked for: whether it may have made the file (false: it sent nothing). */
  #inOne: Promise<boolean> | undefined;
  #placed: Placement | undefined;
  #reread: Reread | undefined;
  /** settle() was called: nothing more is started. */
  #stopped = false;
  /** The one COMPOUND failed without a reply (see #letGo). */
  #unanswered = false;
  /** An owner and group to give with the data (chown with `onRefused`), and what to do if refused. */
  #owner:
    | { owner: string | undefined; group: string | undefined; onRefused: OwnerRefusal }
    | undefined;
  /** Their refusal, to be judged by `onRefused` at the finish. */
  #ownerRefusal: { error: unknown } | undefined;
  /** What the server answered it holds after the owner given in the one COMPOUND. */
  #ownershipHeld: Ownership | undefined;

  constructor(create: DeferredCreate) {
    this.#create = create;
    this.chunkSize = create.chunkSize;
  }

  /** The file made in one COMPOUND, or the ordinary writer's open (for a LINK from its directory). */
  placement(): Placement | undefined {
    if (this.#placed) return this.#placed;
    const state = this.#writer?.state;
    return state ? { fh: state.fh, parentFh: state.parentFh } : undefined;
  }

  /**
   * The owner and group the server holds after the owner given, as read
   * in the one COMPOUND that gave it, else by the ordinary writer's chown;
   * undefined when neither read them (the copy then asks on its own).
   */
  heldOwnership(): Ownership | undefined {
    return this.#ownershipHeld ?? this.#writer?.heldOwnership();
  }

  /**
   * Starts nothing more, and once what is in flight has settled (the one
   * COMPOUND, the ordinary OPEN and the writes after it) says whether
   * anything may have been made on the server: "nothing made" when no OPEN
   * was sent, or when the server refused it (NFS4ERR_ROFS, NFS4ERR_ACCESS:
   * then there is no temporary to remove, nor to say is left).
   */
  async settle(): Promise<"nothing made" | "made"> {
    this.#stopped = true;
    const madeInOne = await this.#inOne;
    await this.#ordinary?.catch(() => undefined);
    // A file the one COMPOUND made and handed on has no #ordinaryMade.
    const madeByOpen = await this.#ordinaryMade;
    return madeInOne || madeByOpen ? "made" : "nothing made";
  }

  useSource(reread: Reread): void {
    this.#reread = reread;
    this.#writer?.useSource(reread);
  }

  async write(chunk: Uint8Array, done?: () => void): Promise<void> {
    if (!this.#ordinary && this.#heldBytes + chunk.length <= this.#create.limit) {
      this.#held.push({ data: chunk, done });
      this.#heldBytes += chunk.length;
      return;
    }
    const writer = await this.#becomeOrdinary();
    await writer.write(chunk, done);
  }

  async hole(length: number): Promise<void> {
    await (await this.#becomeOrdinary()).hole(length);
  }

  async chown(
    owner: string | undefined,
    group: string | undefined,
    onRefused?: OwnerRefusal,
  ): Promise<void> {
    if (owner === undefined && group === undefined) return;
    if (!this.#ordinary && !this.#owner && onRefused) {
      // Given with the data: in the one COMPOUND, or by the ordinary writer
      // once there is one (#adopt); a refusal is judged at the finish.
      this.#owner = { owner, group, onRefused };
      return;
    }
    await (await this.#becomeOrdinary()).chown(owner, group);
  }

  async finish(attrs: FinalAttrs, size: bigint): Promise<void> {
    if (!this.#ordinary && BigInt(this.#heldBytes) === size) {
      this.#checkNotStopped();
      const data = this.#held.length === 1
        ? this.#held[0]!.data
        : concat(this.#held.map((h) => h.data), this.#heldBytes);
      const running = this.#create.createInOne(
        data,
        finalSettable(attrs, size, true),
        this.#owner ? ownerAttrs(this.#owner.owner, this.#owner.group) : undefined,
      );
      // Made, unless it was not used: a failure may have come after its OPEN
      // made the file (a lost reply's resend answered NFS4ERR_RETRY_UNCACHED_REP).
      this.#inOne = running.then((end) => end !== undefined, (e) => {
        // No reply came (a deadline, a stop): the WRITE may still be on its
        // way out, so its data stays as it is (never handed back for reuse).
        if (!(e instanceof NfsError && SHAPE_OPS.has(e.op))) {
          this.#unanswered = true;
          return true;
        }
        // Answered, and refused at its OPEN (NFS4ERR_GRACE, NFS4ERR_ACCESS)
        // or its SEQUENCE: nothing was made, so there is no temporary to
        // remove (a REMOVE of it would only wait out the same GRACE). Unless
        // it answered a resend, whose first run may have made the file.
        return !((e.op === "OPEN" || e.op === "SEQUENCE") && !e.answeredResend);
      });
      const end = await running;
      if (end?.ownership) this.#ownershipHeld = end.ownership;
      if (end?.done) {
        this.#placed = {
          fh: end.fh,
          parentFh: end.parentFh,
          ...(end.placing ? { placing: end.placing } : {}),
        };
        this.#letGo();
        try {
          // Made, and failed after: a placed file's COMMIT, a short WRITE's
          // rest (NFS4ERR_NOSPC; handed back, not thrown, so that the file is
          // known made whatever op failed: the OPEN by handle it went through).
          if (end.commitError !== undefined) throw end.commitError;
          checkOneWrite(this.#create.path, data.length, end.write, end.commitVerifier);
        } catch (e) {
          // Placed, and its final name could not be taken back: say the
          // destination may be damaged, not only that the copy failed.
          const placedAs = this.#create.placedAs;
          if (end.placing && end.placing.linked !== false && placedAs !== undefined) {
            throw new IncompleteCopyError(placedAs, { url: this.#create.url, cause: e });
          }
          throw e;
        }
        return;
      }
      if (end) {
        // Made and open, nothing written: the ordinary writer goes on with
        // it (or, stopped meanwhile, only closes it: abort()).
        const writer = this.#create.writerFor(end.file);
        if (this.#stopped) {
          this.#writer = writer;
          this.#ordinary = Promise.resolve(writer);
          throw this.#stoppedError();
        }
        this.#ordinary = this.#adopt(writer, end.ownerError, end.ownerGiven === true);
      }
    }
    const ordinary = await this.#becomeOrdinary();
    const refusal = this.#ownerRefusal;
    if (refusal && this.#owner) {
      this.#ownerRefusal = undefined;
      attrs = await this.#owner.onRefused(refusal.error, attrs);
    }
    await ordinary.finish(attrs, size);
  }

  async abort(): Promise<void> {
    this.#stopped = true;
    // A COMPOUND in flight: what it made is known only once it settles.
    await this.#inOne;
    await this.#ordinary?.catch(() => undefined);
    this.#letGo();
    await this.#writer?.abort();
  }

  #checkNotStopped(): void {
    if (this.#stopped) throw this.#stoppedError();
  }

  /** What a writer stopped by settle() or abort() says to anything asked of it after. */
  #stoppedError(): CopyError {
    return new CopyError(`${this.#create.path}: copy aborted`);
  }

  /** The ordinary writer (made now when there is none), with what was held written to it first. */
  #becomeOrdinary(): Promise<NfsWriter> {
    if (!this.#ordinary) {
      this.#checkNotStopped();
      const creating = this.#create.create();
      this.#ordinaryMade = creating.then(() => true, mayHaveMade);
      this.#ordinary = creating.then((writer) => this.#adopt(writer));
    }
    return this.#ordinary;
  }

  /**
   * `writer` takes over: the source to read again, the owner to give (unless
   * the one COMPOUND's was refused: `ownerError`), and the chunks held,
   * written first.
   */
  async #adopt(writer: NfsWriter, ownerError?: unknown, ownerGiven = false): Promise<NfsWriter> {
    this.#writer = writer;
    if (this.#reread) writer.useSource(this.#reread);
    const owner = this.#owner;
    if (owner && !ownerGiven) {
      if (ownerError !== undefined) {
        this.#ownerRefusal = { error: ownerError };
      } else {
        try {
          await writer.chown(owner.owner, owner.group);
        } catch (error) {
          // A refusal is judged at the finish; anything else fails the file now.
          if (!this.#create.isRefusal(error)) throw error;
          this.#ownerRefusal = { error };
        }
      }
    }
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const { data, done } of held) await writer.write(data, done);
    return writer;
  }

  /**
   * Lets the held chunks go (their buffers may carry other data now): not
   * after a COMPOUND that got no reply, whose WRITE may still be going out
   * (their buffers are then left to the collector).
   */
  #letGo(): void {
    if (!this.#unanswered) {
      for (const { done } of this.#held) done?.();
    }
    this.#held = [];
    this.#heldBytes = 0;
  }
}

/** An owner and group as SETATTR takes them (this side's names: `user@domain` or numeric). */
function ownerAttrs(owner: string | undefined, group: string | undefined): SettableAttributes {
  return {
    ...(owner !== undefined ? { owner } : {}),
    ...(group !== undefined ? { ownerGroup: group } : {}),
  };
}
