#!/usr/bin/python3
"""server_gevent.py echo|http — the gevent peers of the I/O benchmarks (Debian's python3-gevent,
libev loop), keeping the servers' contract of conn.h: listen on 127.0.0.1, an ephemeral port,
backlog SOMAXCONN, print the port on stdout, serve until SIGTERM.

  echo  gevent.server.StreamServer; each connection's handler recv(16384) / sendall, TCP_NODELAY
  http  gevent.pywsgi.WSGIServer (request logging off) answering every request with the same
        13-byte body as the C servers

The open-file limit is read, never raised: it is printed on stderr at start, and the load
generator compares it with the connections a point needs (/proc/<pid>/limits).
"""

import resource
import socket as pysocket
import sys

import gevent
from gevent import socket
from gevent.pywsgi import WSGIServer
from gevent.server import StreamServer

BUF = 16384  # conn.h's IO_BUF
BODY = b"Hello, World!"


def echo(sock, _address):
    sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
    try:
        while True:
            data = sock.recv(BUF)
            if not data:
                break
            sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass  # the load generator ends every point with a reset


def hello(_environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [BODY]


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("echo", "http"):
        sys.exit("usage: server_gevent.py echo|http")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(pysocket.SOMAXCONN)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print("gevent %s (%s loop), open-file limit %d (hard %d)"
          % (gevent.__version__, gevent.config.loop.__module__.split(".")[1], soft, hard),
          file=sys.stderr, flush=True)
    if sys.argv[1] == "echo":
        server = StreamServer(listener, echo)
    else:
        server = WSGIServer(listener, hello, log=None)
    print(listener.getsockname()[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
