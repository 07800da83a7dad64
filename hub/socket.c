/* socket.c — cooperative TCP helpers: each call that would block waits in the hub
 * (hub_wait_read / hub_wait_write) instead of blocking the thread. */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include "hub_internal.h"

static int address(const char *host, uint16_t port, struct sockaddr_in *sa, const char *what)
{
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (inet_pton(AF_INET, host ? host : "127.0.0.1", &sa->sin_addr) != 1)
        return hub__fail(GL_EINVAL, NULL, "%s: '%s' is not a numeric IPv4 address", what, host);
    return HUB_OK;
}

/* Seconds left until `end` (negative end: no limit). */
static double left(double end)
{
    if (end < 0)
        return HUB_FOREVER;
    double l = end - hub_now();
    return l > 0 ? l : 0;
}

static double deadline(double timeout) { return timeout < 0 ? -1 : hub_now() + timeout; }

static void no_delay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small echoes go at once */
}

int hub_tcp_listen(const char *host, uint16_t port, int backlog, int *fd_out)
{
    if (!fd_out)
        return hub__fail(GL_EINVAL, NULL, "hub_tcp_listen: `fd_out` is NULL");
    *fd_out = -1;
    struct sockaddr_in sa = {0};
    int rc = address(host, port, &sa, "hub_tcp_listen");
    if (rc != HUB_OK)
        return rc;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return hub__fail_errno(errno, "hub_tcp_listen: socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
        int err = errno;
        close(fd);
        return hub__fail_errno(err, "hub_tcp_listen(%s:%u)", host ? host : "127.0.0.1", port);
    }
    *fd_out = fd;
    return HUB_OK;
}

int hub_socket_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        hub__fail_errno(errno, "hub_socket_port(%d)", fd);
        return -1;
    }
    return ntohs(sa.sin_port);
}

int hub_accept(int listen_fd, double timeout, int *fd_out)
{
    if (hub__check_seconds(timeout, "hub_accept") != HUB_OK)
        return GL_EINVAL;
    if (!fd_out)
        return hub__fail(GL_EINVAL, NULL, "hub_accept: `fd_out` is NULL");
    *fd_out = -1;
    double end = deadline(timeout);
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            no_delay(fd);
            *fd_out = fd;
            return HUB_OK;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return hub__fail_errno(errno, "hub_accept(%d)", listen_fd);
        int rc = hub__wait_fd(listen_fd, HUB__READ, left(end), "hub_accept");
        if (rc != HUB_OK)
            return rc;
    }
}

int hub_tcp_connect(const char *host, uint16_t port, double timeout, int *fd_out)
{
    if (hub__check_seconds(timeout, "hub_tcp_connect") != HUB_OK)
        return GL_EINVAL;
    if (!fd_out)
        return hub__fail(GL_EINVAL, NULL, "hub_tcp_connect: `fd_out` is NULL");
    *fd_out = -1;
    struct sockaddr_in sa = {0};
    int rc = address(host, port, &sa, "hub_tcp_connect");
    if (rc != HUB_OK)
        return rc;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return hub__fail_errno(errno, "hub_tcp_connect: socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINPROGRESS) {
            int err = errno;
            close(fd);
            return hub__fail_errno(err, "hub_tcp_connect(%s:%u)", host ? host : "127.0.0.1", port);
        }
        rc = hub_wait_write(fd, timeout);
        int err = 0;
        socklen_t len = sizeof err;
        if (rc == HUB_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (rc != HUB_OK || err) {
            /* Close without disturbing the error being reported. */
            gl_error saved = *gl_last_error();
            hub_close(fd);
            if (rc != HUB_OK)
                return hub__fail(rc, saved.data, "%s", saved.message);
            return hub__fail_errno(err, "hub_tcp_connect(%s:%u)", host ? host : "127.0.0.1", port);
        }
    }
    no_delay(fd);
    *fd_out = fd;
    return HUB_OK;
}

int hub_recv(int fd, void *buf, size_t len, double timeout, size_t *received)
{
    if (hub__check_seconds(timeout, "hub_recv") != HUB_OK)
        return GL_EINVAL;
    if (received)
        *received = 0;
    if (!buf && len)
        return hub__fail(GL_EINVAL, NULL, "hub_recv: buffer is NULL");
    double end = deadline(timeout);
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    /* Request/response traffic finds nothing to read most of the time: when the last
     * call had to wait, wait first and save the recv that would say EAGAIN (the loop's
     * one poll serves every descriptor). A record exists only for a descriptor the hub
     * watched and hub_close() has not closed. */
    hub__io *io = hub__io_find(h, fd);
    int waited = 0;
    if (io && io->recv_waited && timeout != 0) {
        int rc = hub__wait_fd(fd, HUB__READ, left(end), "hub_recv");
        if (rc != HUB_OK)
            return rc;
        waited = 1;
    }
    for (;;) {
        ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
        if (n >= 0) {
            if ((io = hub__io_find(h, fd)))
                io->recv_waited = waited;
            if (received)
                *received = (size_t)n;
            return HUB_OK;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return hub__fail_errno(errno, "hub_recv(%d)", fd);
        int rc = hub__wait_fd(fd, HUB__READ, left(end), "hub_recv");
        if (rc != HUB_OK)
            return rc;
        waited = 1;
    }
}

int hub_send_all(int fd, const void *buf, size_t len, double timeout, size_t *sent)
{
    if (hub__check_seconds(timeout, "hub_send_all") != HUB_OK)
        return GL_EINVAL;
    size_t done = 0;
    if (sent)
        *sent = 0;
    if (!buf && len)
        return hub__fail(GL_EINVAL, NULL, "hub_send_all: buffer is NULL");
    double end = deadline(timeout);
    while (done < len) {
        ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            if (sent)
                *sent = done;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return hub__fail_errno(errno, "hub_send_all(%d)", fd);
        int rc = hub__wait_fd(fd, HUB__WRITE, left(end), "hub_send_all");
        if (rc != HUB_OK)
            return rc;
    }
    return HUB_OK;
}
