/**
 * The copy's time-left estimate (lib/client/copy/eta.ts): a model of time
 * per file plus time per byte fitted to samples, with no clock.
 */

import assert from "node:assert/strict";
import { EtaEstimator } from "../../lib/client/copy/mod.ts";

/** Feeds samples every `step` seconds from a copy with the given true costs. */
function simulate(
  eta: EtaEstimator,
  steps: number,
  step: (i: number) => { files: number; bytes: number },
  costs: { perFile: number; perByte: number },
  start = { seconds: 0, files: 0, bytes: 0 },
): { seconds: number; files: number; bytes: number } {
  let { seconds, files, bytes } = start;
  if (seconds === 0) eta.add({ seconds, files, bytes });
  for (let i = 0; i < steps; i++) {
    const { files: f, bytes: b } = step(i);
    files += f;
    bytes += b;
    seconds += f * costs.perFile + b * costs.perByte;
    eta.add({ seconds, files, bytes });
  }
  return { seconds, files, bytes };
}

Deno.test("EtaEstimator knows nothing before a window of progress", () => {
  const eta = new EtaEstimator();
  assert.equal(eta.remaining(10, 1000), undefined);
  eta.add({ seconds: 0, files: 0, bytes: 0 });
  eta.add({ seconds: 0.1, files: 1, bytes: 10 });
  assert.equal(eta.remaining(10, 1000), undefined);
});

Deno.test("EtaEstimator: small files going by do not make a large file look like hours", () => {
  const eta = new EtaEstimator();
  // 10 ms per file, tiny files: a byte rate of about 10 kB/s.
  simulate(eta, 200, () => ({ files: 20, bytes: 20 * 100 }), { perFile: 0.01, perByte: 5e-9 });
  const left = eta.remaining(1, 1024 ** 3)!;
  const naive = 1024 ** 3 / (200 * 20 * 100 / (200 * 20 * 0.01));
  assert.ok(naive > 24 * 3600, `bytes alone say ${naive} s`);
  assert.ok(left < 60, `a 1 GiB file left: ${left} s`);
  // The files left are what it learnt about: 1000 files take about 10 s.
  const files = eta.remaining(1000, 1000 * 100)!;
  assert.ok(Math.abs(files - 10) < 1, `1000 small files: ${files} s`);
});

Deno.test("EtaEstimator learns both costs from a mix of small and large files", () => {
  const eta = new EtaEstimator();
  const truth = { perFile: 0.005, perByte: 1 / 100e6 };
  simulate(
    eta,
    300,
    (i) => (i % 10 === 0 ? { files: 1, bytes: 50e6 } : { files: 20, bytes: 20 * 4096 }),
    truth,
  );
  const costs = eta.costs()!;
  assert.ok(Math.abs(costs.perFile / truth.perFile - 1) < 0.1, `per file ${costs.perFile}`);
  assert.ok(Math.abs(costs.perByte / truth.perByte - 1) < 0.1, `per byte ${costs.perByte}`);
});

Deno.test("EtaEstimator: one large file is bandwidth", () => {
  const eta = new EtaEstimator();
  simulate(eta, 50, () => ({ files: 0, bytes: 20e6 }), { perFile: 0, perByte: 1 / 100e6 });
  const left = eta.remaining(1, 1e9)!;
  assert.ok(Math.abs(left - 10) < 0.5, `1 GB at 100 MB/s: ${left} s`);
});

Deno.test("EtaEstimator counts stalls: the model accounts for all the time that passed", () => {
  const eta = new EtaEstimator({ halfLifeSeconds: 1e9 });
  let seconds = 0;
  let bytes = 0;
  eta.add({ seconds, files: 0, bytes });
  for (let i = 0; i < 20; i++) {
    // 1 s moving 100 MB, then 1 s with nothing done (a COMMIT, a slow server).
    seconds += 1;
    bytes += 100e6;
    eta.add({ seconds, files: 0, bytes });
    seconds += 1;
    eta.add({ seconds, files: 0, bytes });
  }
  const left = eta.remaining(0, 100e6)!;
  assert.ok(Math.abs(left - 2) < 0.1, `100 MB at 50 MB/s overall: ${left} s`);
});

Deno.test("EtaEstimator weighs recent progress more (the rate changed)", () => {
  const eta = new EtaEstimator({ halfLifeSeconds: 5 });
  const at = simulate(eta, 100, () => ({ files: 0, bytes: 10e6 }), { perFile: 0, perByte: 1e-8 });
  simulate(eta, 100, () => ({ files: 0, bytes: 10e6 }), { perFile: 0, perByte: 1e-7 }, at);
  const left = eta.remaining(0, 100e6)!;
  assert.ok(left > 8 && left < 11, `now 10 MB/s: ${left} s for 100 MB`);
});
