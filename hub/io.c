/* io.c — waiting for a descriptor to become readable or writable, and closing one that
 * greenlets wait on. One record per descriptor (by number), kept until hub_close(), or
 * until a wait finds that the number now names another file (a plain close(), then the
 * number reused): the loop does not watch that file, so the record is made again. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hub_internal.h"

static hub__io *lookup(hub__hub *h, int fd)
{
    return (size_t)fd < h->ios_cap ? h->ios[fd] : NULL;
}

hub__io *hub__io_find(hub__hub *h, int fd) { return fd >= 0 ? lookup(h, fd) : NULL; }

/* Forget io (its waiters, if any, are the caller's business). */
static void drop(hub__hub *h, hub__io *io)
{
    if (io->backend)
        h->ops->io_free(h->loop, io);
    h->ios[io->fd] = NULL;
    free(io);
}

/* The record of `fd`, made if there is none; st: fstat(fd) now. */
static hub__io *io_for(hub__hub *h, int fd, const struct stat *st, const char *what)
{
    hub__io *io = lookup(h, fd);
    if (io)
        return io;
    if ((size_t)fd >= h->ios_cap) {
        size_t cap = h->ios_cap ? h->ios_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        hub__io **ios = realloc(h->ios, cap * sizeof *ios);
        if (!ios) {
            hub__fail(GL_ENOMEM, NULL, "%s: out of memory", what);
            return NULL;
        }
        memset(ios + h->ios_cap, 0, (cap - h->ios_cap) * sizeof *ios);
        h->ios = ios;
        h->ios_cap = cap;
    }
    io = calloc(1, sizeof *io);
    if (!io) {
        hub__fail(GL_ENOMEM, NULL, "%s: out of memory", what);
        return NULL;
    }
    io->hub = h;
    io->fd = fd;
    io->dev = st->st_dev;
    io->ino = st->st_ino;
    /* poll() calls regular files always ready; epoll refuses them (EPERM). */
    if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
        io->always_ready = 1;
    } else {
        int err = h->ops->io_init(h->loop, io);
        if (err == EPERM) {
            io->always_ready = 1;
        } else if (err) {
            free(io);
            hub__fail_errno(err, "%s(%d)", what, fd);
            return NULL;
        }
    }
    h->ios[fd] = io;
    return io;
}

/* Tell the backend to watch `events` on io's descriptor. */
static void watch(hub__hub *h, hub__io *io, int events)
{
    /* Even when unchanged: a backend may have stopped watching on an error. */
    if (io->backend) {
        io->events = events;
        h->ops->io_set(h->loop, io, events);
    }
}

/* Tell the backend what the waiters of io want now. */
static void update(hub__hub *h, hub__io *io)
{
    watch(h, io, (io->readers.count ? HUB__READ : 0) | (io->writers.count ? HUB__WRITE : 0));
}

void hub__io_ready(hub__io *io, int events, int err)
{
    hub__hub *h = io->hub;
    hub__waiter *w;
    if (err) {
        while ((w = hub__waitq_first(&io->readers)))
            hub__waiter_resolve(h, w, HUB_ESYS, (void *)(intptr_t)err, "fd %d: %s", io->fd,
                                strerror(err));
        while ((w = hub__waitq_first(&io->writers)))
            hub__waiter_resolve(h, w, HUB_ESYS, (void *)(intptr_t)err, "fd %d: %s", io->fd,
                                strerror(err));
    } else {
        if ((events & HUB__READ) && (w = hub__waitq_first(&io->readers)))
            hub__waiter_resolve(h, w, HUB_OK, NULL, NULL);
        if ((events & HUB__WRITE) && (w = hub__waitq_first(&io->writers)))
            hub__waiter_resolve(h, w, HUB_OK, NULL, NULL);
    }
    update(h, io);
}

int hub__wait_fd(int fd, int events, double timeout, const char *what)
{
    if (__builtin_isnan(timeout))
        return hub__fail(GL_EINVAL, NULL, "%s: the duration is NaN", what);
    if (fd < 0)
        return hub__fail(GL_EINVAL, NULL, "%s: invalid descriptor %d", what, fd);
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    hub__io *io = lookup(h, fd);
    if (!io || (!io->readers.count && !io->writers.count)) {
        /* Nobody waits on it: since the last wait, the number may have been closed (a
         * descriptor that is not open must not reach the backend: libev aborts on it),
         * or closed and reused for another file, which the loop does not watch. */
        struct stat st;
        if (fstat(fd, &st) < 0)
            return hub__fail_errno(errno, "%s(%d)", what, fd);
        if (io && (io->dev != st.st_dev || io->ino != st.st_ino)) {
            drop(h, io);
            io = NULL;
        }
        if (!io && !(io = io_for(h, fd, &st, what)))
            return gl_last_error()->code;
    }
    if (io->always_ready)
        return HUB_OK;
    hub__waitq *q = events == HUB__READ ? &io->readers : &io->writers;
    if (q->count)
        return hub__fail(HUB_EBUSY, NULL, "%s(%d): another greenlet already waits on it", what,
                         fd);
    if (timeout == 0) {
        struct pollfd p = {.fd = fd, .events = events == HUB__READ ? POLLIN : POLLOUT};
        if (poll(&p, 1, 0) > 0)
            return HUB_OK;
        return hub__fail(HUB_ETIMEOUT, NULL, "%s(%d): not ready", what, fd);
    }
    h->io_waiters++;
    watch(h, io, io->events | events);
    int rc = hub__wait(h, q, timeout, HUB_ETIMEOUT, NULL, NULL);
    h->io_waiters--;
    io = lookup(h, fd); /* hub_close() may have dropped the record meanwhile */
    if (io)
        update(h, io);
    return rc;
}

int hub_wait_read(int fd, double timeout)
{
    return hub__wait_fd(fd, HUB__READ, timeout, "hub_wait_read");
}

int hub_wait_write(int fd, double timeout)
{
    return hub__wait_fd(fd, HUB__WRITE, timeout, "hub_wait_write");
}

int hub_close(int fd)
{
    if (fd < 0)
        return hub__fail(GL_EINVAL, NULL, "hub_close: invalid descriptor %d", fd);
    hub__hub *h = hub__get(0);
    hub__io *io = h ? lookup(h, fd) : NULL;
    if (io) {
        /* gevent's cancel_wait: the waiters hear of it before the number can be reused. */
        hub__waiter *w;
        while ((w = hub__waitq_first(&io->readers)))
            hub__waiter_resolve(h, w, HUB_ECLOSED, NULL,
                                "fd %d was closed while this greenlet waited to read", fd);
        while ((w = hub__waitq_first(&io->writers)))
            hub__waiter_resolve(h, w, HUB_ECLOSED, NULL,
                                "fd %d was closed while this greenlet waited to write", fd);
        drop(h, io);
    }
    if (close(fd) < 0)
        return hub__fail_errno(errno, "hub_close(%d)", fd);
    return HUB_OK;
}
