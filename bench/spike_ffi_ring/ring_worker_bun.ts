// Worker: owns a TCP fd, blocking recv(2) via bun:ffi straight into a SharedArrayBuffer ring.
import { dlopen, FFIType as T, ptr } from "bun:ffi";
const libc = dlopen("libc.so.6", {
  socket: { args: [T.i32, T.i32, T.i32], returns: T.i32 },
  connect: { args: [T.i32, T.ptr, T.u32], returns: T.i32 },
  recv: { args: [T.i32, T.ptr, T.u64, T.i32], returns: T.i64_fast },
  close: { args: [T.i32], returns: T.i32 },
});
const S = libc.symbols;
self.onmessage = (ev: MessageEvent) => {
  const { data, ctlBuf, port, slots, slotSize, flags = 0 } = ev.data;
  let calls = 0;
  const ctl = new Int32Array(ctlBuf); // [0]=produced [1]=consumed [2]=lastSlot+1 (eof) [3]=fd [4..]=len
  const u8 = new Uint8Array(data);
  const base = ptr(u8);
  const fd = S.socket(2, 1, 0);
  const sa = new Uint8Array(16);
  sa[0] = 2;
  sa[2] = port >> 8;
  sa[3] = port & 255;
  sa.set([127, 0, 0, 1], 4);
  if (S.connect(fd, ptr(sa), 16) !== 0) throw new Error("connect failed");
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
    const p = base + slot * slotSize;
    let off = 0, eof = false;
    while (off < slotSize) {
      const r = S.recv(fd, p + off, slotSize - off, flags);
      calls++;
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
  if (process.env.RING_DEBUG) console.error(`worker: recv calls=${calls}`);
};
