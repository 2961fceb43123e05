"""A private nats-server for the measurement scripts (docs/BENCHMARKS.md)."""
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store, env=None):
    """Starts `nats-server -js` on a free loopback port with its file store
    in `store`, waits until it accepts connections, and returns the process
    and the port."""
    port = free_port()
    server = subprocess.Popen(["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port),
                               "-sd", store], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    server.wait()
    raise SystemExit("nats-server did not start")
