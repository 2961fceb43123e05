#!/usr/bin/env python3
"""The idle latency floor of the latency scenario's chain of JetStream hops.

Runs build/scripts/chain_floor (scripts/chain_floor.c, built with the
project), starts its own nats-server -js (file storage, temporary
directory, free loopback port, GOMAXPROCS=1 and GOGC=400 as the node's
embedded server), runs the three relay stages in one process and the
observer in another, and prints send-to-arrival p50 and p99 over a chain
of four stored messages, with nothing of switchyard in it
(docs/BENCHMARKS.md "The idle latency floor").

    python3 scripts/chain_floor.py [--messages N] [--rounds R] [--binary PATH]
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import time

from local_nats import start_server


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="messages per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", default="build/scripts/chain_floor")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{args.binary}: not built (cmake --build build --target chain_floor)")
    workdir = tempfile.mkdtemp(prefix="sy-chain-")
    env = dict(os.environ, GOMAXPROCS="1", GOGC="400")
    server, port = start_server(os.path.join(workdir, "store"), env)
    url = f"nats://127.0.0.1:{port}"
    relay = None
    try:
        subprocess.run([binary, url, "setup"], check=True)
        relay = subprocess.Popen([binary, url, "relay"])
        time.sleep(0.5)
        # Warm-up: the first messages open the streams' files.
        subprocess.run([binary, url, "observe", "50"], check=True, stdout=subprocess.DEVNULL)
        print(f"chain of 4 stored messages, {args.messages} one at a time per round")
        for r in range(args.rounds):
            out = subprocess.run([binary, url, "observe", str(args.messages)], check=True,
                                 stdout=subprocess.PIPE, text=True).stdout.split()
            print(f"round {r + 1}: p50 {out[0]} ms, p99 {out[1]} ms")
    finally:
        if relay:
            relay.kill()
            relay.wait()
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
