#!/usr/bin/env python3
"""A seccomp notify listener for the tests: accepts one connection on a unix socket,
receives the container process state and the notify fd (SCM_RIGHTS), and writes
what it got as JSON to the output file. usage: seccomp_listener.py SOCKET OUT"""
import array
import json
import os
import socket
import sys

sock_path, out_path = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(1)
srv.settimeout(20)
conn, _ = srv.accept()
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
state = json.loads(msg.decode())
target = os.readlink(f"/proc/self/fd/{fds[0]}") if fds else ""
with open(out_path, "w") as f:
    json.dump({"state": state, "nfds": len(fds), "fd_target": target}, f)
