// Deno worker: owns a TCP fd, blocking recv(2) via Deno.dlopen straight into a SharedArrayBuffer ring.
const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" }, // ssize_t; slots <= 1 MiB
  close: { parameters: ["i32"], result: "i32" },
});
const S = libc.symbols;
self.onmessage = (ev: MessageEvent) => {
  const { data, ctlBuf, port, slots, slotSize } = ev.data;
  const ctl = new Int32Array(ctlBuf); // [0]=produced [1]=consumed [2]=lastSlot+1 (eof) [3]=fd [4..]=len
  const u8 = new Uint8Array(data);
  const fd = S.socket(2, 1, 0);
  const sa = new Uint8Array(16);
  sa[0] = 2;
  sa[2] = port >> 8;
  sa[3] = port & 255;
  sa.set([127, 0, 0, 1], 4);
  if (S.connect(fd, sa, 16) !== 0) throw new Error("connect failed");
  Atomics.store(ctl, 3, fd);
  Atomics.notify(ctl, 3);
  let produced = 0;
  for (;;) {
    for (;;) {
      const c = Atomics.load(ctl, 1);
      if (produced - c < slots) break;
      Atomics.wait(ctl, 1, c);
    }
    const slot = produced % slots;
    const o = slot * slotSize;
    let off = 0, eof = false;
    while (off < slotSize) {
      const r = S.recv(fd, u8.subarray(o + off, o + slotSize), BigInt(slotSize - off), 0);
      if (r <= 0) {
        eof = true;
        break;
      }
      off += r;
    }
    ctl[4 + slot] = off;
    if (eof) Atomics.store(ctl, 2, produced + 1);
    Atomics.store(ctl, 0, ++produced);
    Atomics.notify(ctl, 0);
    if (eof) break;
  }
  S.close(fd);
  self.close();
};
