/*
 * server_threads.c — io_server_threads: the echo server people write without
 * coroutines: blocking sockets, one OS thread per connection (default attributes:
 * glibc's 8 MiB stack reservation, touched only as used), created at accept and
 * detached. When the system will not create another thread, the connection is closed
 * and the reason noted: that is this server's limit.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "conn.h"

static atomic_long live; /* connection threads running */

static void *serve(void *arg)
{
    io_conn *c = arg;
    for (;;) {
        ssize_t n = recv(c->fd, c->in, IO_BUF, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && !io_client_gone(errno))
                io_note("recv: %s", strerror(errno));
            break;
        }
        for (ssize_t done = 0, w; done < n; done += w) {
            w = send(c->fd, c->in + done, (size_t)(n - done), MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) {
                w = 0;
                continue;
            }
            if (w <= 0) {
                if (!io_client_gone(errno))
                    io_note("send: %s", strerror(errno));
                goto out;
            }
        }
    }
out:
    io_conn_free(c);
    free(c);
    atomic_fetch_sub(&live, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    io_args(argc, argv, 0, NULL);
    int lfd = io_listen(0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED) {
                io_note("accept: %s", strerror(errno));
                usleep(1000); /* e.g. out of descriptors: do not spin */
            }
            continue;
        }
        io_conn *c = io_conn_new(sizeof *c, 0, fd, IO_ECHO);
        if (!c)
            continue;
        pthread_t t;
        atomic_fetch_add(&live, 1);
        int rc = pthread_create(&t, &attr, serve, c);
        if (rc != 0) {
            atomic_fetch_sub(&live, 1);
            io_note("pthread_create: %s (with %ld connection threads running)", strerror(rc),
                    atomic_load(&live));
            io_conn_free(c);
            free(c);
        }
    }
}
