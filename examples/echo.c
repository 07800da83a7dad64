/* echo.c — a TCP echo server on 127.0.0.1 (ephemeral port: a hub_server, gevent's
 * StreamServer, with a greenlet per connection) and concurrent clients, all greenlets of
 * one thread. Each client sends its messages one at a time and checks that every byte
 * comes back in order.
 * Usage: echo [clients] [messages-per-client]   (default 10 and 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hub.h"

static int server_port;
static int messages = 3;
static long echoed_bytes;

/* The server's handler: one connection, closed by the server when this returns. */
static void *serve_one(int fd, void *arg)
{
    (void)arg;
    char buf[4096];
    for (;;) {
        size_t n;
        int rc = hub_recv(fd, buf, sizeof buf, HUB_FOREVER, &n);
        if (rc == HUB_OK && n == 0)
            return NULL; /* the client is done */
        if (rc == HUB_OK)
            rc = hub_send_all(fd, buf, n, HUB_FOREVER, NULL);
        if (rc != HUB_OK)
            return gl_reraise();
        echoed_bytes += (long)n;
    }
}

static void *client(void *arg)
{
    long id = (long)arg;
    int fd;
    int rc = hub_tcp_connect(NULL, (uint16_t)server_port, 5.0, &fd);
    if (rc != HUB_OK)
        return gl_reraise();
    for (int m = 0; m < messages; m++) {
        char out[64], in[64];
        int len = snprintf(out, sizeof out, "client %ld message %d", id, m);
        size_t got = 0;
        rc = hub_send_all(fd, out, (size_t)len, 5.0, NULL);
        while (rc == HUB_OK && got < (size_t)len) {
            size_t n;
            rc = hub_recv(fd, in + got, (size_t)len - got, 5.0, &n);
            if (rc == HUB_OK && n == 0)
                rc = gl_throw(gl_current(), GL_EUSER, NULL, "server closed early");
            got += n;
        }
        if (rc == HUB_OK && memcmp(in, out, (size_t)len) != 0)
            rc = gl_throw(gl_current(), GL_EUSER, NULL, "echo differs: %.*s", len, in);
        if (rc != HUB_OK) {
            hub_close(fd);
            return gl_reraise();
        }
    }
    hub_close(fd);
    return (void *)(long)messages;
}

int main(int argc, char **argv)
{
    int clients = argc > 1 ? atoi(argv[1]) : 10;
    messages = argc > 2 ? atoi(argv[2]) : 3;
    if (clients < 1 || clients > 1000 || messages < 0) {
        fprintf(stderr, "usage: echo [clients 1..1000] [messages]\n");
        return 2;
    }
    int listen_fd;
    if (hub_tcp_listen(NULL, 0, 0, &listen_fd) != HUB_OK) { /* backlog SOMAXCONN */
        fprintf(stderr, "echo: %s\n", gl_last_error()->message);
        return 1;
    }
    server_port = hub_socket_port(listen_fd);
    hub_server *srv;
    hub_greenlet **cl = calloc((size_t)clients, sizeof *cl);
    if (hub_server_new(&srv, listen_fd, serve_one, NULL) != HUB_OK ||
        hub_server_start(srv) != HUB_OK) {
        fprintf(stderr, "echo: %s\n", gl_last_error()->message);
        return 1;
    }
    for (long i = 0; i < clients; i++)
        hub_spawn(&cl[i], client, (void *)i);
    double t0 = hub_now();
    int failed = 0;
    for (int i = 0; i < clients; i++) {
        int rc = hub_get(cl[i], HUB_FOREVER, NULL);
        if (rc != HUB_OK) {
            fprintf(stderr, "echo: client %d: %s: %s\n", i, hub_strerror(rc),
                    gl_last_error()->message);
            failed++;
        }
        hub_greenlet_release(cl[i]);
    }
    double t1 = hub_now();
    /* Closes the listener; the handlers see their clients leave (1 s at most). */
    if (hub_server_stop(srv, 1.0) != HUB_OK || hub_server_free(srv) != HUB_OK) {
        fprintf(stderr, "echo: stopping the server: %s\n", gl_last_error()->message);
        failed++;
    }
    printf("%d clients x %d messages echoed (%ld bytes) in %.1f ms on port %d "
           "(loop: %s, port: %s)%s\n",
           clients, messages, echoed_bytes, (t1 - t0) * 1e3, server_port, hub_loop_name(),
           gl_port()->name, failed ? ", FAILURES" : "");
    free(cl);
    return failed ? 1 : 0;
}
