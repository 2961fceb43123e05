#!/usr/bin/env python3
"""What nats-server spends per JetStream operation (docs/BENCHMARKS.md).

Starts its own `nats-server -js` (file storage, temporary directory, free
loopback port), speaks the NATS protocol over one socket, and runs each
operation the pipeline uses in pipelined batches of 500: the server's CPU
time (from /proc/<pid>/stat) divided by the operations is the figure. The
client is Python and slower than the server; that does not change the
server's CPU per operation.

    python3 scripts/server_costs.py [--ops N]
"""
import argparse
import json
import os
import shutil
import socket
import tempfile
import time

from local_nats import start_server


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.line()  # INFO
        self.sock.sendall(b'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n'
                          b"SUB _I.> 1\r\nPING\r\n")
        while self.line() != b"PONG":
            pass

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def payload(self, n):
        while len(self.buf) < n + 2:
            self.buf += self.sock.recv(1 << 20)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def messages(self, n):
        """The next n messages (MSG or HMSG): their reply subjects and bodies."""
        out = []
        while len(out) < n:
            line = self.line()
            if line.startswith((b"MSG", b"HMSG")):
                parts = line.split()
                reply = parts[3] if len(parts) == (5 if line.startswith(b"MSG") else 6) else b""
                out.append((reply, self.payload(int(parts[-1]))))
            elif line == b"PING":
                self.sock.sendall(b"PONG\r\n")
        return out

    def api(self, subject, body):
        data = json.dumps(body).encode()
        self.sock.sendall(b"PUB %s _I.api %d\r\n%s\r\n" % (subject.encode(), len(data), data))
        reply = json.loads(self.messages(1)[0][1])
        if "error" in reply:
            raise SystemExit(f"{subject}: {reply['error']}")
        return reply


def pub(subject, reply, data, header=None):
    if header is None:
        return b"PUB %s %s %d\r\n%s\r\n" % (subject, reply, len(data), data)
    h = ("NATS/1.0\r\n" + header + "\r\n\r\n").encode()
    return b"HPUB %s %s %d %d\r\n%s%s\r\n" % (subject, reply, len(h), len(h) + len(data), h, data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    n = parser.parse_args().ops
    batch = 500
    n -= n % batch
    store = tempfile.mkdtemp(prefix="sy-costs-")
    server, port = start_server(store)
    try:
        c = Client(port)

        def cpu():
            fields = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        def measure(name, make, count=n):
            c0, t0 = cpu(), time.time()
            for i in range(0, count, batch):
                c.sock.sendall(b"".join(make(j) for j in range(i, i + batch)))
                c.messages(batch)
            seconds, used = time.time() - t0, cpu() - c0
            print(f"{name:44} {used / count * 1e6:6.1f} us/op  ({count / seconds:,.0f} ops/s)")

        c.api("$JS.API.STREAM.CREATE.S", {"name": "S", "subjects": ["s.>"], "storage": "file"})
        c.api("$JS.API.STREAM.CREATE.KV", {"name": "KV", "subjects": ["kv.>"], "storage": "file",
                                           "max_msgs_per_subject": 1})
        body = b"x" * 200
        print(f"nats-server CPU per operation, {n} operations each, 200-byte bodies")
        measure("publish", lambda j: pub(b"s.a", b"_I.%d" % j, body))
        measure("publish with Nats-Msg-Id", lambda j: pub(b"s.b", b"_I.%d" % j, body,
                                                         "Nats-Msg-Id: m%d" % j))
        measure("KV put, new key", lambda j: pub(b"kv.a.%d" % j, b"_I.%d" % j, body))
        measure("KV create (expected last subject seq 0)",
                lambda j: pub(b"kv.b.%d" % j, b"_I.%d" % j, body,
                              "Nats-Expected-Last-Subject-Sequence: 0"))
        measure("KV put over an existing key", lambda j: pub(b"kv.a.%d" % j, b"_I.%d" % j, body))
        first = c.api("$JS.API.STREAM.INFO.KV", {})["state"]["first_seq"]

        def api_pub(subject, j, req):
            data = json.dumps(req).encode()
            return b"PUB %s _I.%d %d\r\n%s\r\n" % (subject, j, len(data), data)

        half = max(batch, n // 2 - (n // 2) % batch)
        measure("message delete (API, no_erase)",
                lambda j: api_pub(b"$JS.API.STREAM.MSG.DELETE.KV", j,
                                  {"seq": first + j, "no_erase": True}), half)
        measure("message get by subject (API)",
                lambda j: api_pub(b"$JS.API.STREAM.MSG.GET.KV", j,
                                  {"last_by_subj": "kv.a.%d" % (half + j)}), half)
        for name, policy in (("pull + explicit ack", "explicit"), ("pull, no acks", "none")):
            durable = "c" + policy
            c.api(f"$JS.API.CONSUMER.DURABLE.CREATE.S.{durable}",
                  {"stream_name": "S", "config": {"durable_name": durable, "ack_policy": policy,
                                                  "filter_subject": "s.a",
                                                  "max_ack_pending": 100000}})
            c0, t0 = cpu(), time.time()
            for _ in range(0, n, batch):
                req = json.dumps({"batch": batch, "expires": 10 ** 9}).encode()
                c.sock.sendall(b"PUB $JS.API.CONSUMER.MSG.NEXT.S.%s _I.pull %d\r\n%s\r\n"
                               % (durable.encode(), len(req), req))
                got = c.messages(batch)
                if policy == "explicit":
                    c.sock.sendall(b"".join(b"PUB %s 4\r\n+ACK\r\n" % r for r, _ in got))
            c.sock.sendall(b"PING\r\n")
            while c.line() != b"PONG":
                pass
            seconds, used = time.time() - t0, cpu() - c0
            print(f"{name + ' (per message)':44} {used / n * 1e6:6.1f} us/op  "
                  f"({n / seconds:,.0f} msgs/s)")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
