#!/usr/bin/python3
"""The local cluster's "outside world" web server (run in netns wml-world by scripts/local/cluster.sh).

  GET /         one line: "wiremesh-outside: client <ip>" (the address the request came from)
  GET /bytes/N  N bytes, streamed in chunks with Content-Length (downloads and benchmarks)

Appends "<ISO time> <client ip> <path>" per request to the access log.
Usage: outside.py --bind ADDR [--port 80] --log FILE
"""
import argparse
import datetime
import http.server
import threading

CHUNK = 64 * 1024
MAX_BYTES = 1 << 40


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "wiremesh-outside/1"

    def log_message(self, fmt, *args):  # the access log below replaces stderr logging
        pass

    def access(self):
        line = "%s %s %s\n" % (datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
                               self.client_address[0], self.path)
        with self.server.log_lock:
            self.server.log_file.write(line)
            self.server.log_file.flush()

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.access()
        if self.path == "/":
            self.reply(200, "wiremesh-outside: client %s\n" % self.client_address[0])
        elif self.path.startswith("/bytes/"):
            try:
                n = int(self.path[len("/bytes/"):])
                if n < 0 or n > MAX_BYTES:
                    raise ValueError
            except ValueError:
                self.reply(400, "N must be an integer in 0..%d\n" % MAX_BYTES)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"\0" * CHUNK
            try:
                while n > 0:
                    k = min(n, CHUNK)
                    self.wfile.write(chunk if k == CHUNK else chunk[:k])
                    n -= k
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            self.reply(404, "not found\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--log", required=True)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer((a.bind, a.port), Handler)
    server.daemon_threads = True
    server.log_lock = threading.Lock()
    server.log_file = open(a.log, "a", encoding="utf-8")
    server.serve_forever()


if __name__ == "__main__":
    main()
