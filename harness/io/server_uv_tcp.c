/*
 * server_uv_tcp.c — io_server_uv_tcp: the plain libuv echo server written the way libuv
 * is meant to be used: uv_tcp_t streams, uv_read_start into the connection's buffer,
 * the echo written with uv_try_write (it completes at once when the socket has room)
 * and uv_write for what it could not take, reading paused until that is out.
 */
#include <stdlib.h>
#include <uv.h>
#include "conn.h"

typedef struct tcp_conn {
    uv_tcp_t tcp; /* first: the handle pointer is the connection pointer */
    uv_write_t write;
    char buf[IO_BUF];
} tcp_conn;

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void on_closed(uv_handle_t *h) { free(h); }

static void drop(tcp_conn *c, const char *what, int status)
{
    if (status < 0 && status != UV_EOF && !io_client_gone(-status))
        io_note("%s: %s", what, uv_strerror(status));
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    *buf = uv_buf_init(((tcp_conn *)h)->buf, IO_BUF);
}

static void on_written(uv_write_t *req, int status)
{
    tcp_conn *c = req->data;
    int rc = status;
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0)
        drop(c, "write", rc);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    tcp_conn *c = (tcp_conn *)s;
    if (n < 0) {
        drop(c, "read", (int)n);
        return;
    }
    if (n == 0)
        return; /* EAGAIN */
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
    int w = uv_try_write(s, &b, 1);
    if (w == n)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        drop(c, "write", w);
        return;
    }
    if (w > 0)
        b = uv_buf_init(buf->base + w, (unsigned)(n - w));
    uv_read_stop(s); /* the buffer is busy until the write completes */
    c->write.data = c;
    int rc = uv_write(&c->write, s, &b, 1, on_written);
    if (rc < 0)
        drop(c, "uv_write", rc);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) {
        io_note("listen: %s", uv_strerror(status));
        return;
    }
    tcp_conn *c = malloc(sizeof *c);
    if (!c) {
        io_note("out of memory at a new connection");
        return;
    }
    uv_tcp_init(server->loop, &c->tcp);
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc == 0)
        rc = uv_tcp_nodelay(&c->tcp, 1);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0)
        drop(c, "accept", rc);
}

int main(int argc, char **argv)
{
    io_args(argc, argv, 0, NULL);
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t server;
    int rc = uv_tcp_init(loop, &server);
    if (rc == 0)
        rc = uv_tcp_open(&server, io_listen(1));
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
    if (rc != 0) {
        io_note("listen: %s", uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
