/*
 * server_uv_poll.c — io_server_uv_poll: the plain libuv echo server the way the hub
 * uses libuv: a uv_poll_t per connection and recv/send of its own (conn.h's
 * io_conn_ready), no greenlets. The libuv hub is measured against it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <uv.h>
#include "conn.h"

typedef struct poll_conn {
    uv_poll_t poll; /* first: the handle pointer is the connection pointer */
    io_conn c;
    int events;
} poll_conn;

static io_mode mode;
static int listen_fd;

static void on_closed(uv_handle_t *h) { free(h); }

static void on_ready(uv_poll_t *h, int status, int events)
{
    (void)events;
    poll_conn *p = (poll_conn *)h;
    int next = status < 0 ? IO_DONE : io_conn_ready(&p->c);
    if (status < 0 && !io_client_gone(-status))
        io_note("poll: %s", uv_strerror(status));
    if (next == IO_DONE) {
        uv_poll_stop(h); /* no longer polled: the descriptor may be closed */
        io_conn_free(&p->c);
        uv_close((uv_handle_t *)h, on_closed);
        return;
    }
    int want = next == IO_WANT_WRITE ? UV_WRITABLE : UV_READABLE;
    if (want != p->events) {
        p->events = want;
        uv_poll_start(h, want, on_ready);
    }
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    (void)events;
    if (status < 0) {
        io_note("poll (listening socket): %s", uv_strerror(status));
        return;
    }
    for (int fd; (fd = io_accept(listen_fd)) >= 0;) {
        poll_conn *p = io_conn_new(sizeof *p, offsetof(poll_conn, c), fd, mode);
        if (!p)
            continue;
        int rc = uv_poll_init_socket(h->loop, &p->poll, fd);
        if (rc != 0) {
            io_note("uv_poll_init_socket: %s", uv_strerror(rc));
            io_conn_free(&p->c);
            free(p);
        } else if ((rc = uv_poll_start(&p->poll, p->events = UV_READABLE, on_ready)) != 0) {
            io_note("uv_poll_start: %s", uv_strerror(rc));
            io_conn_free(&p->c);
            uv_close((uv_handle_t *)&p->poll, on_closed);
        }
    }
}

int main(int argc, char **argv)
{
    mode = io_args(argc, argv, 0, NULL);
    uv_loop_t *loop = uv_default_loop();
    uv_poll_t acceptor;
    listen_fd = io_listen(1);
    int rc = uv_poll_init_socket(loop, &acceptor, listen_fd);
    if (rc == 0)
        rc = uv_poll_start(&acceptor, UV_READABLE, on_accept);
    if (rc != 0) {
        io_note("uv_poll on the listening socket: %s", uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
