/*
 * server_hub.c — io_server_hub_<port>: the hub's server, built once per port (the
 * same source linked with each port's library, as examples/echo.c is), on the loop
 * named by --loop (or SWITCHYARD_LOOP). Written as a user of today's hub API would:
 * the main greenlet accepts (hub_tcp_listen, hub_accept) and spawns a greenlet per
 * connection (hub_spawn), which reads with hub_recv and answers with hub_send_all.
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

static io_mode mode;
static long accepted;

/* A failed hub call: a note, unless the client merely went away. */
static void hub_failed(const char *what)
{
    if (!io_client_gone(hub_errno()))
        io_note("%s: %s", what, gl_last_error()->message);
}

static void serve_echo(io_conn *c)
{
    for (;;) {
        size_t n;
        if (hub_recv(c->fd, c->in, IO_BUF, HUB_FOREVER, &n) != HUB_OK) {
            hub_failed("hub_recv");
            return;
        }
        if (n == 0)
            return;
        if (hub_send_all(c->fd, c->in, n, HUB_FOREVER, NULL) != HUB_OK) {
            hub_failed("hub_send_all");
            return;
        }
    }
}

static void serve_http(io_conn *c)
{
    while (!c->closing) {
        if (!io_http_answer(c)) { /* no complete request yet: read */
            size_t n;
            if (hub_recv(c->fd, c->in + c->in_len, IO_BUF - c->in_len, HUB_FOREVER, &n) != HUB_OK) {
                hub_failed("hub_recv");
                return;
            }
            if (n == 0)
                return;
            c->in_len += n;
            continue;
        }
        if (hub_send_all(c->fd, c->out, c->out_len, HUB_FOREVER, NULL) != HUB_OK) {
            hub_failed("hub_send_all");
            return;
        }
        c->out_len = 0;
    }
}

static void *serve(void *arg)
{
    io_conn *c = arg;
    if (mode == IO_ECHO)
        serve_echo(c);
    else
        serve_http(c);
    hub_close(c->fd); /* through the hub: it watched the descriptor */
    c->fd = -1;
    io_conn_free(c);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *loop = NULL;
    mode = io_args(argc, argv, 1, &loop);
    int lfd;
    if ((loop && hub_set_loop(loop) != HUB_OK) || !hub_loop_name() ||
        hub_tcp_listen(NULL, 0, 0, &lfd) != HUB_OK) {
        fprintf(stderr, "%s\n", gl_last_error()->message);
        return 1;
    }
    printf("%d\n", hub_socket_port(lfd));
    fflush(stdout);
    for (;;) {
        int fd;
        if (hub_accept(lfd, HUB_FOREVER, &fd) != HUB_OK) {
            io_note("hub_accept: %s", gl_last_error()->message);
            hub_sleep(0.001); /* e.g. out of descriptors: do not spin */
            continue;
        }
        accepted++;
        io_conn *c = io_conn_new(sizeof *c, 0, fd, mode);
        if (!c)
            continue;
        if (hub_spawn(NULL, serve, c) != HUB_OK) {
            io_note("hub_spawn: %s (connection %ld)", gl_last_error()->message, accepted);
            io_conn_free(c);
            free(c);
        }
    }
}
