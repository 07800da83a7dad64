/*
 * server_ev.c — io_server_ev: the plain libev callback server (echo or HTTP), no
 * greenlets: what the hub's server is measured against. One ev_io per connection,
 * level-triggered, reading at most once per event (conn.h's io_conn_ready).
 */
#include <ev.h>
#include <stddef.h>
#include <stdlib.h>
#include "conn.h"

typedef struct ev_conn {
    ev_io io; /* first: the watcher pointer is the connection pointer */
    io_conn c;
} ev_conn;

static io_mode mode;

static void on_ready(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    ev_conn *e = (ev_conn *)w;
    int next = io_conn_ready(&e->c);
    if (next == IO_DONE) {
        ev_io_stop(loop, w);
        io_conn_free(&e->c);
        free(e);
        return;
    }
    int want = next == IO_WANT_WRITE ? EV_WRITE : EV_READ;
    if ((w->events & (EV_READ | EV_WRITE)) != want) {
        ev_io_stop(loop, w);
        ev_io_set(w, e->c.fd, want);
        ev_io_start(loop, w);
    }
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    for (int fd; (fd = io_accept(w->fd)) >= 0;) {
        ev_conn *e = io_conn_new(sizeof *e, offsetof(ev_conn, c), fd, mode);
        if (!e)
            continue;
        ev_io_init(&e->io, on_ready, fd, EV_READ);
        ev_io_start(loop, &e->io);
    }
}

int main(int argc, char **argv)
{
    mode = io_args(argc, argv, 1, NULL);
    struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
    if (!loop) {
        io_note("ev_default_loop failed");
        return 1;
    }
    ev_io acceptor;
    ev_io_init(&acceptor, on_accept, io_listen(1), EV_READ);
    ev_io_start(loop, &acceptor);
    ev_run(loop, 0);
    return 0;
}
