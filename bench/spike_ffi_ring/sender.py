# usage: python3 sender.py PORT [GIB] [mode]   mode=send (default) | idle (accept, send nothing)
import socket, sys, os
port=int(sys.argv[1]); gib=float(sys.argv[2]) if len(sys.argv)>2 else 1; mode=sys.argv[3] if len(sys.argv)>3 else 'send'
buf=os.urandom(1<<20)
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(('127.0.0.1',port)); s.listen(8)
while True:
    c,_=s.accept()
    if mode=='idle':
        c.recv(1); c.close(); continue
    mv=memoryview(buf)
    for _ in range(int(gib*1024)): c.sendall(mv)
    c.close()
