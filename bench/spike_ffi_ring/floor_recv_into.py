# kernel-copy floor: python recv_into a reused 1 MiB bytearray
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); b = bytearray(1 << 20); mv = memoryview(b); n = 0
while True:
    r = s.recv_into(mv)
    if not r: break
    n += r
print("bytes=%d" % n, file=sys.stderr)
