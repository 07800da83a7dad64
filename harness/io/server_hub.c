/*
 * server_hub.c — io_server_hub_<port>: the hub's server, built once per port (the
 * same source linked with each port's library, as examples/echo.c is), on the loop
 * named by --loop (or SWITCHYARD_LOOP). Written as a user of the hub API writes one:
 * a hub_server (gevent's StreamServer: it accepts, backs off when descriptors run out,
 * and runs a greenlet per connection, whose descriptor it closes after it), and a
 * handler that reads with hub_recv and answers with hub_send_all.
 *
 *   echo  every byte received is sent back
 *   http  the keep-alive server of http.h (the same parser as the libev one)
 *
 * The buffers are on the heap (conn.h's io_conn), not on the greenlet's stack: on the
 * stack-copying port every switch would copy a stack buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn.h"
#include "hub.h"

/* A failed hub call: a note, unless the client merely went away. Its code is passed on
 * when it is a kill (the server stopping), else the connection just ends. */
static int hub_failed(int rc, const char *what)
{
    if (rc == GL_EEXIT)
        return rc;
    if (!io_client_gone(hub_errno()))
        io_note("%s: %s", what, gl_last_error()->message);
    return HUB_OK;
}

static int serve_echo(io_conn *c)
{
    for (;;) {
        size_t n;
        int rc = hub_recv(c->fd, c->in, IO_BUF, HUB_FOREVER, &n);
        if (rc != HUB_OK)
            return hub_failed(rc, "hub_recv");
        if (n == 0)
            return HUB_OK;
        if ((rc = hub_send_all(c->fd, c->in, n, HUB_FOREVER, NULL)) != HUB_OK)
            return hub_failed(rc, "hub_send_all");
    }
}

static int serve_http(io_conn *c)
{
    while (!c->closing) {
        int rc;
        if (!io_http_answer(c)) { /* no complete request yet: read */
            size_t n;
            rc = hub_recv(c->fd, c->in + c->in_len, IO_BUF - c->in_len, HUB_FOREVER, &n);
            if (rc != HUB_OK)
                return hub_failed(rc, "hub_recv");
            if (n == 0)
                return HUB_OK;
            c->in_len += n;
            continue;
        }
        if ((rc = hub_send_all(c->fd, c->out, c->out_len, HUB_FOREVER, NULL)) != HUB_OK)
            return hub_failed(rc, "hub_send_all");
        c->out_len = 0;
    }
    return HUB_OK;
}

/* The server's handler: one connection. The server owns `fd` (it closes it once this
 * returns), so the buffers are made without it: io_conn_init closes the descriptor it
 * is given when memory runs out. */
static void *serve(int fd, void *arg)
{
    io_mode mode = *(io_mode *)arg;
    io_conn c;
    if (io_conn_init(&c, -1, mode) != 0)
        return NULL;
    c.fd = fd;
    int rc = mode == IO_ECHO ? serve_echo(&c) : serve_http(&c);
    c.fd = -1;
    io_conn_free(&c);
    return rc == HUB_OK ? NULL : gl_reraise();
}

int main(int argc, char **argv)
{
    const char *loop = NULL;
    static io_mode mode;
    mode = io_args(argc, argv, 1, &loop);
    int lfd;
    hub_server *server;
    if ((loop && hub_set_loop(loop) != HUB_OK) || !hub_loop_name() ||
        hub_tcp_listen(NULL, 0, 0, &lfd) != HUB_OK ||
        hub_server_new(&server, lfd, serve, &mode) != HUB_OK) {
        fprintf(stderr, "%s\n", gl_last_error()->message);
        return 1;
    }
    printf("%d\n", hub_socket_port(lfd));
    fflush(stdout);
    /* Until SIGTERM; returns only if the listener became unusable. */
    int rc = hub_server_serve_forever(server);
    fprintf(stderr, "hub_server_serve_forever: %s\n", gl_last_error()->message);
    return rc == HUB_OK ? 0 : 1;
}
