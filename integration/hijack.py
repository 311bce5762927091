#!/usr/bin/env python3
"""A raw HTTP/1.1 client over a unix socket for docker's attach protocol, the
same bytes for podman's compat API and k3's: it sends
`POST /containers/ID/attach?QUERY` with `Connection: Upgrade` and `Upgrade: tcp`,
then runs STEPs on the hijacked connection, reads until the server closes it, and
prints one JSON object:
  {"status": N, "upgrade": "<Upgrade header>", "frames": [[stream, text], ...]}
(a multiplexed stream: docker's 8-byte headers decoded; `--raw`: one frame
[0, text] of everything, a pty's bytes as they came). A reply that is not 101/200
is printed with its body: {"status": N, "body": "..."}.

usage: hijack.py SOCK ID QUERY [--raw] [STEP...]
STEPs, in order:
  send:TEXT     write TEXT (\\n, \\r and \\x04 escapes) to the container's stdin
  expect:TEXT   wait (10 s at most) until the output so far contains TEXT
  resize:R,C    POST /containers/ID/resize?h=R&w=C on a second connection
  sleep:SECS
  close         shut the connection's write half (the client's stdin ends)
Other requests: hijack.py SOCK - METHOD PATH  prints {"status": N, "body": ...}.
"""
import json
import socket
import struct
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def read_head(s):
    """The status line and headers; returns (status, headers, rest of the bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def read_body(s, headers, rest):
    body = rest
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        body += chunk
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, b = b"", body
        while b:
            size, _, b = b.partition(b"\r\n")
            n = int(size or b"0", 16)
            if n == 0:
                break
            out, b = out + b[:n], b[n + 2:]
        body = out
    return body.decode("utf-8", "replace")


def request(path, method, url):
    s = connect(path)
    s.sendall(f"{method} {url} HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    status, headers, rest = read_head(s)
    body = read_body(s, headers, rest)
    s.close()
    return {"status": status, "body": body}


def demux(data):
    frames = []
    while len(data) >= 8:
        kind, n = data[0], struct.unpack(">I", data[4:8])[0]
        if len(data) < 8 + n:
            break
        text = data[8:8 + n].decode("utf-8", "replace")
        if frames and frames[-1][0] == kind:
            frames[-1][1] += text  # one stream's writes may come in any number of frames
        else:
            frames.append([kind, text])
        data = data[8 + n:]
    if data:
        frames.append([-1, data.hex()])  # a torn frame: never expected
    return frames


def unescape(t):
    return t.encode().decode("unicode_escape").encode("latin-1")


def attach(path, cid, query, raw, steps):
    s = connect(path)
    s.sendall(
        f"POST /containers/{cid}/attach?{query} HTTP/1.1\r\nHost: d\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
    )
    status, headers, out = read_head(s)
    if status not in (101, 200):
        print(json.dumps({"status": status, "body": read_body(s, headers, out)}))
        return
    for step in steps:
        verb, _, arg = step.partition(":")
        if verb == "send":
            s.sendall(unescape(arg))
        elif verb == "close":
            s.shutdown(socket.SHUT_WR)
        elif verb == "sleep":
            time.sleep(float(arg))
        elif verb == "resize":
            h, w = arg.split(",")
            r = request(path, "POST", f"/containers/{cid}/resize?h={h}&w={w}")
            if r["status"] != 200:
                sys.exit(f"resize: {r}")
        elif verb == "expect":
            end = time.time() + 10
            s.settimeout(0.2)
            while arg.encode() not in out and time.time() < end:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                out += chunk
            s.settimeout(20)
            if arg.encode() not in out:
                sys.exit(f"never saw {arg!r}: {out!r}")
        else:
            sys.exit(f"unknown step {step!r}")
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    frames = [[0, out.decode("utf-8", "replace")]] if raw else demux(out)
    print(json.dumps({"status": status, "upgrade": headers.get("upgrade", ""), "frames": frames}))


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[1] == "-":
        print(json.dumps(request(a[0], a[2], a[3])))
        return
    raw = "--raw" in a
    a = [x for x in a if x != "--raw"]
    attach(a[0], a[1], a[2], raw, a[3:])


main()
