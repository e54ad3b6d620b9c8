/**
 * How long a copy has left. A copy's time goes to files (OPEN, COMMIT,
 * SETATTR, CLOSE, RENAME: round trips whatever the size) and to bytes
 * (bandwidth). Estimating from bytes alone, a tree of small files looks
 * like a copy at a few kB/s and its ETA runs to thousands of hours; from
 * files alone, one large file looks like one step. So the time is modelled
 * as `perFile × files + perByte × bytes` and both costs are fitted to what
 * has been done: a least-squares fit over windows of progress, drawn
 * towards prior costs where the windows cannot tell the two apart (all
 * files of one size), then scaled so the model accounts for all the time
 * that passed (stalls included). Recent windows weigh more.
 *
 * Pure: it is given samples, it reads no clock.
 * @module
 */

/** Where a copy stands at a moment: seconds since it started, files and bytes done. */
export interface EtaSample {
  readonly seconds: number;
  readonly files: number;
  readonly bytes: number;
}

/** What a file and a byte cost, in seconds. */
export interface CopyCosts {
  readonly perFile: number;
  readonly perByte: number;
}

/**
 * Costs assumed before anything is known: 2 ms per file (a handful of round
 * trips, several files in flight) and 200 MB/s. Only their ratio matters
 * once time has passed: the fit rescales them.
 */
export const PRIOR_COSTS: CopyCosts = { perFile: 0.002, perByte: 1 / 200e6 };

export interface EtaOptions {
  readonly prior?: CopyCosts;
  /** Shortest window between two samples used (shorter ones are merged). */
  readonly windowSeconds?: number;
  /** A window this old weighs half as much as a new one. */
  readonly halfLifeSeconds?: number;
  /** Weight of the prior in the fit (seconds²); small: data wins where it can tell. */
  readonly priorWeight?: number;
}

/**
 * Estimates the time a copy has left from samples of its progress.
 *
 * @example
 * ```ts
 * const eta = new EtaEstimator();
 * eta.add({ seconds: 0, files: 0, bytes: 0 });
 * eta.add({ seconds: 10, files: 1000, bytes: 1_000_000 }); // small files
 * eta.remaining(0, 1e9); // about 5 s: bytes are not what made it slow
 * ```
 */
export class EtaEstimator {
  readonly #prior: CopyCosts;
  readonly #window: number;
  readonly #halfLife: number;
  readonly #lambda: number;
  #last: EtaSample | undefined;
  // Sums over windows of x = prior file seconds, y = prior byte seconds, t = seconds.
  #sxx = 0;
  #sxy = 0;
  #syy = 0;
  #sxt = 0;
  #syt = 0;
  #sx = 0;
  #sy = 0;
  #st = 0;
  #windows = 0;

  constructor(options: EtaOptions = {}) {
    this.#prior = options.prior ?? PRIOR_COSTS;
    this.#window = options.windowSeconds ?? 0.5;
    this.#halfLife = options.halfLifeSeconds ?? 20;
    this.#lambda = options.priorWeight ?? 0.05;
  }

  /** Adds where the copy stands now (totals since the start, not increments). */
  add(sample: EtaSample): void {
    const last = this.#last;
    if (!last) {
      this.#last = sample;
      return;
    }
    const t = sample.seconds - last.seconds;
    if (t < this.#window) return;
    const x = (sample.files - last.files) * this.#prior.perFile;
    const y = (sample.bytes - last.bytes) * this.#prior.perByte;
    const keep = Math.pow(0.5, t / this.#halfLife);
    this.#sxx = this.#sxx * keep + x * x;
    this.#sxy = this.#sxy * keep + x * y;
    this.#syy = this.#syy * keep + y * y;
    this.#sxt = this.#sxt * keep + x * t;
    this.#syt = this.#syt * keep + y * t;
    this.#sx = this.#sx * keep + x;
    this.#sy = this.#sy * keep + y;
    this.#st = this.#st * keep + t;
    this.#windows++;
    this.#last = sample;
  }

  /** The fitted costs, or undefined before a whole window of progress was seen. */
  costs(): CopyCosts | undefined {
    if (this.#windows === 0 || this.#sx + this.#sy <= 0) return undefined;
    // Ridge regression of t on (x, y) towards (1, 1): the scale factors of the prior costs.
    const l = this.#lambda;
    const a = this.#sxx + l;
    const b = this.#sxy;
    const d = this.#syy + l;
    const p = this.#sxt + l;
    const q = this.#syt + l;
    const det = a * d - b * b;
    let alpha = (p * d - b * q) / det;
    let beta = (a * q - b * p) / det;
    // Neither cost can be negative: fit the other one alone.
    if (alpha < 0) {
      alpha = 0;
      beta = Math.max(0, q / d);
    } else if (beta < 0) {
      beta = 0;
      alpha = Math.max(0, p / a);
    }
    if (alpha === 0 && beta === 0) alpha = beta = 1;
    // Account for every second that passed, stalls included.
    const predicted = alpha * this.#sx + beta * this.#sy;
    const scale = predicted > 0 ? this.#st / predicted : 1;
    return {
      perFile: alpha * scale * this.#prior.perFile,
      perByte: beta * scale * this.#prior.perByte,
    };
  }

  /** Seconds left for `files` more files holding `bytes` more bytes, when it can tell. */
  remaining(files: number, bytes: number): number | undefined {
    const costs = this.costs();
    if (!costs) return undefined;
    return Math.max(0, files) * costs.perFile + Math.max(0, bytes) * costs.perByte;
  }
}
