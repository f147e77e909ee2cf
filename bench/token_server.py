"""A minimal OAuth 2.0 token endpoint for benchmarks: rotates refresh tokens, optional latency.

    python -m bench.token_server --latency-ms 100     # prints "PORT <n>" then serves

It is deliberately cheap, so a benchmark measures the client, not the server.
"""

import argparse
import itertools
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

counter = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real provider
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body
    latency = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = parse_qs(body.decode())
        if self.latency:
            time.sleep(self.latency)
        if form.get("grant_type") != ["refresh_token"] or not form.get("refresh_token"):
            payload, status = {"error": "invalid_request"}, 400
        else:
            n = next(counter)
            payload, status = {"access_token": f"bench-access-{n}", "refresh_token": f"bench-refresh-{n}",
                               "expires_in": 3600, "token_type": "Bearer"}, 200
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()
    Handler.latency = args.latency_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
