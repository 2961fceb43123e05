#!/usr/bin/env python3
"""Where nats-server spends its CPU during a benchmark (docs/BENCHMARKS.md).

Debian's nats-server is stripped, so `perf` shows no Go symbols, and this
machine has no Go toolchain for `go tool pprof`. nats-server serves Go's
own profiler with `--profile PORT`; its CPU profile names every function.
This script runs `switchyard bench` with the embedded server started with
`--profile` (a wrapper `nats-server` put first on PATH, which is where the
node looks for it), takes a CPU profile in the middle of the run, and
prints the functions by their own time (flat) and with what they call
(cumulative), as shares of the samples.

    python3 scripts/server_profile.py [--switchyard PATH] [--seconds S]
        [--top N] [--paths NAME [--depth D]] [-- BENCH ARGS...]

`--paths runtime.growslice` also lists the call paths that lead to the
functions whose name contains the text, to tell apart the callers of a
function that is busy everywhere.

Default bench: --scenario route --tasks 60000 (the run must outlast the
delay plus the seconds profiled). The profiler itself costs the server some
CPU: compare shares, not the bench's figures.
"""
import argparse
import collections
import gzip
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request

from local_nats import free_port


def varint(b, i):
    result = shift = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return result, i


def fields(b):
    """The (field number, wire type, value) triples of a protobuf message."""
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(b, i)
        elif wire == 2:
            length, i = varint(b, i)
            value = b[i : i + length]
            i += length
        elif wire == 1:
            value, i = b[i : i + 8], i + 8
        elif wire == 5:
            value, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def integers(wire, value):
    """A repeated integer field: packed (wire type 2) or one value."""
    if wire == 0:
        return [value]
    out, i = [], 0
    while i < len(value):
        x, i = varint(value, i)
        out.append(x)
    return out


def read_profile(data):
    """Samples of a pprof profile (profile.proto) as (stack of function
    names, innermost first; CPU nanoseconds)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings, samples, locations, functions = [], [], {}, {}
    for number, wire, value in fields(data):
        if number == 2:  # Sample: location_id (1), value (2)
            ids, values = [], []
            for n, w, v in fields(value):
                if n == 1:
                    ids += integers(w, v)
                elif n == 2:
                    values += integers(w, v)
            samples.append((ids, values[-1] if values else 0))
        elif number == 4:  # Location: id (1), line (4) -> function_id (1)
            lid, funcs = None, []
            for n, w, v in fields(value):
                if n == 1:
                    lid = v
                elif n == 4:
                    funcs += [v3 for n3, _, v3 in fields(v) if n3 == 1]
            locations[lid] = funcs
        elif number == 5:  # Function: id (1), name (2, string index)
            fid, name = None, 0
            for n, w, v in fields(value):
                if n == 1:
                    fid = v
                elif n == 2:
                    name = v
            functions[fid] = name
        elif number == 6:
            strings.append(value.decode())
    out = []
    for ids, ns in samples:
        stack = []
        for lid in ids:
            stack += [strings[functions[f]] for f in locations.get(lid, [])]
        out.append((stack, ns))
    return out


def report(samples, top):
    total = sum(ns for _, ns in samples) or 1
    flat, cumulative = collections.Counter(), collections.Counter()
    for stack, ns in samples:
        if stack:
            flat[stack[0]] += ns
        for name in set(stack):
            cumulative[name] += ns
    short = lambda name: name.replace("github.com/nats-io/nats-server/v2/server.", "").replace(
        "github.com/nats-io/nats-server/server.", "")
    print(f"{total / 1e9:.2f} s of CPU sampled")
    for title, counter in (("flat", flat), ("cumulative", cumulative)):
        print(f"--- {title}")
        for name, ns in counter.most_common(top):
            print(f"{100 * ns / total:5.1f}%  {short(name)}")


def report_paths(samples, focus, depth, top):
    """The call paths that lead to functions named `focus` (a substring),
    `depth` frames of them, innermost first, by their share of samples."""
    total = sum(ns for _, ns in samples) or 1
    paths = collections.Counter()
    for stack, ns in samples:
        for i, name in enumerate(stack):
            if focus in name:
                paths[" <- ".join(stack[i:i + depth])] += ns
                break
    strip = lambda s: s.replace("github.com/nats-io/nats-server/v2/server.", "")
    print(f"--- paths to {focus}")
    for path, ns in paths.most_common(top):
        print(f"{100 * ns / total:5.1f}%  {strip(path)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--switchyard", default="build/runtime/cli/switchyard")
    parser.add_argument("--nats-server", default="/usr/sbin/nats-server")
    parser.add_argument("--delay", type=float, default=3.0, help="seconds before profiling")
    parser.add_argument("--seconds", type=int, default=4, help="seconds profiled")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--paths", metavar="NAME", action="append", default=[],
                        help="also print the call paths to functions whose name contains NAME"
                        " (repeatable)")
    parser.add_argument("--depth", type=int, default=8, help="frames per path with --paths")
    parser.add_argument("bench", nargs="*", default=["--scenario", "route", "--tasks", "60000"])
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = os.path.join(tmp, "nats-server")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec {shlex.quote(args.nats_server)} "$@" --profile {port}\n')
        os.chmod(wrapper, 0o755)
        env = dict(os.environ, PATH=tmp + os.pathsep + os.environ.get("PATH", ""))
        bench = subprocess.Popen(
            [os.path.abspath(args.switchyard), "bench", *args.bench], cwd=tmp, env=env)
        time.sleep(args.delay)
        url = f"http://127.0.0.1:{port}/debug/pprof/profile?seconds={args.seconds}"
        try:
            data = urllib.request.urlopen(url, timeout=args.seconds + 30).read()
        except OSError as e:
            bench.wait()
            sys.exit(f"server_profile: no profile from {url}: {e} (did the run end before?)")
        code = bench.wait()
        if code != 0:
            sys.exit(f"server_profile: switchyard bench exited {code}")
    samples = read_profile(data)
    report(samples, args.top)
    for name in args.paths:
        report_paths(samples, name, args.depth, args.top)


if __name__ == "__main__":
    main()
