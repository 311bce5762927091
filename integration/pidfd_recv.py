#!/usr/bin/env python3
"""Listens on a unix socket for one descriptor sent with SCM_RIGHTS (a runtime's
--pidfd-socket) and prints `TAG PID`: the message's data and the pid the pidfd
names (from /proc/self/fdinfo). With `kill`, SIGKILLs the process through it.
usage: pidfd_recv.py SOCKET [kill]"""
import os
import signal
import socket
import sys

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
s.settimeout(30)
conn, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(conn, 256, 1)
if not fds:
    sys.exit("no descriptor received")
pid = None
with open(f"/proc/self/fdinfo/{fds[0]}") as f:
    for line in f:
        if line.startswith("Pid:"):
            pid = line.split()[1]
if pid is None:
    sys.exit("the descriptor is not a pidfd")
if sys.argv[2:] == ["kill"]:
    signal.pidfd_send_signal(fds[0], signal.SIGKILL)
print(msg.decode(), pid, flush=True)
