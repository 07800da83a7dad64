/* conn.c — the C servers' shared connection handling (conn.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "conn.h"
#include "http.h"

void io_note(const char *fmt, ...)
{
    static char last[512];
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (strcmp(line, last) == 0)
        return;
    memcpy(last, line, sizeof last);
    fprintf(stderr, "%s\n", line);
}

int io_client_gone(int err) { return err == ECONNRESET || err == EPIPE; }

int io_conn_init(io_conn *c, int fd, io_mode mode)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->mode = mode;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->in = malloc(IO_BUF);
    c->out = mode == IO_HTTP ? malloc(IO_BUF) : c->in;
    if (!c->in || !c->out) {
        io_note("out of memory for a connection's buffers");
        io_conn_free(c);
        return -1;
    }
    return 0;
}

void *io_conn_new(size_t size, size_t offset, int fd, io_mode mode)
{
    char *p = malloc(size);
    if (!p) {
        io_note("out of memory at a new connection");
        close(fd);
        return NULL;
    }
    if (io_conn_init((io_conn *)(p + offset), fd, mode) != 0) {
        free(p); /* io_conn_init closed fd and said why */
        return NULL;
    }
    return p;
}

void io_conn_free(io_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (c->out != c->in)
        free(c->out);
    free(c->in);
    c->in = c->out = NULL;
}

static int failed(const char *what, int err)
{
    if (!io_client_gone(err))
        io_note("%s: %s", what, strerror(err));
    return IO_DONE;
}

/* Write what is pending: IO_WANT_WRITE if some is left, IO_DONE on an error or once
 * a closing connection's output is out, IO_WANT_READ otherwise. */
static int flush(io_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return IO_WANT_WRITE;
        return failed("send", n < 0 ? errno : EIO);
    }
    c->out_off = c->out_len = 0;
    return c->closing ? IO_DONE : IO_WANT_READ;
}

/* One recv into c->in + at: bytes read, 0 at end of stream, -1 nothing yet (EAGAIN),
 * -2 an error (noted unless the client went away). */
static ssize_t read_once(io_conn *c, size_t at)
{
    for (;;) {
        ssize_t n = recv(c->fd, c->in + at, IO_BUF - at, MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -1;
        failed("recv", errno);
        return -2;
    }
}

int io_http_answer(io_conn *c)
{
    int answered = 0;
    while (!c->closing && c->in_len > 0) {
        http_request req;
        http_status st = http_parse(c->in, c->in_len, &req);
        if (st == HTTP_INCOMPLETE)
            break;
        size_t len;
        const char *resp = http_response(st == HTTP_COMPLETE ? &req : NULL, &len);
        if (c->out_len + len > IO_BUF)
            break; /* the output is full: answer the rest once it is out */
        memcpy(c->out + c->out_len, resp, len);
        c->out_len += len;
        answered++;
        if (st == HTTP_BAD || !req.keep_alive) {
            c->closing = 1;
            c->in_len = 0;
            break;
        }
        c->in_len -= req.length;
        memmove(c->in, c->in + req.length, c->in_len);
    }
    return answered;
}

/* HTTP: answer and write out every complete request c->in holds (the output may need
 * several rounds): IO_WANT_READ once all is out, else what flush() says. */
static int answer_all(io_conn *c, int *answered)
{
    while (io_http_answer(c)) {
        *answered = 1;
        int next = flush(c);
        if (next != IO_WANT_READ)
            return next;
    }
    return IO_WANT_READ;
}

int io_conn_ready(io_conn *c)
{
    int next = flush(c);
    if (next != IO_WANT_READ)
        return next;
    if (c->mode == IO_ECHO) {
        ssize_t n = read_once(c, 0);
        if (n == -1)
            return IO_WANT_READ;
        if (n <= 0)
            return IO_DONE;
        c->out_len = (size_t)n; /* echo: out is in */
        return flush(c);
    }
    int answered = 0;
    next = answer_all(c, &answered);
    if (next != IO_WANT_READ || answered)
        return next; /* requests that were waiting: answered before reading more */
    ssize_t n = read_once(c, c->in_len);
    if (n == -1)
        return IO_WANT_READ;
    if (n <= 0)
        return IO_DONE;
    c->in_len += (size_t)n;
    return answer_all(c, &answered);
}

int io_listen(int nonblocking)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        fprintf(stderr, "listen on 127.0.0.1: %s\n", strerror(errno));
        exit(1);
    }
    printf("%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

int io_accept(int listen_fd)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            io_note("accept: %s", strerror(errno));
        return -1;
    }
}

io_mode io_args(int argc, char **argv, int has_http, const char **loop)
{
    int ok = argc >= 2 &&
             (strcmp(argv[1], "echo") == 0 || (has_http && strcmp(argv[1], "http") == 0));
    for (int i = 2; ok && i < argc; i++) {
        if (loop && strcmp(argv[i], "--loop") == 0 && i + 1 < argc)
            *loop = argv[++i];
        else
            ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "usage: %s echo%s%s\n", argv[0], has_http ? "|http" : "",
                loop ? " [--loop libev|libuv]" : "");
        exit(2);
    }
    return argv[1][0] == 'h' ? IO_HTTP : IO_ECHO;
}
