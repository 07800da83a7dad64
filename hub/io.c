/* io.c — waiting for a descriptor to become readable or writable, and closing one that
 * greenlets wait on. One record per descriptor (by number), kept until hub_close(), or
 * until a check finds that the number now names another file (a plain close(), then
 * the number reused): the loop does not watch that file, so the record is made again
 * for it, and the waits under way move to it.
 *
 * Checking costs a system call (fstat), and a request/response server waits once per
 * round trip, so a wait does not check a record the backend already polls for: it
 * trusts it, and the record joins hub->unchecked. The loop checks the records there
 * when it has had no descriptor event for HUB_FD_CHECK_IDLE (a record left stale by a
 * plain close() gets no event, so the hub soon has nothing else to do), or
 * HUB_FD_CHECK_MAX after the first wait trusted it whatever the load; a timeout (the
 * wait's own or a hub_timeout) checks before it ends a wait. A record leaves the list
 * once checked, or once nobody waits on it: a busy server's waits, served by the
 * events they wait for, are never checked. Checked at once instead: a record the
 * backend must start polling for (an epoll_ctl on a number closed behind libuv's back
 * aborts it), a record of a file that is always ready (no event would ever reveal a
 * socket that took its number), and one a wake-up found nothing on (the socket helpers
 * mark it: a plain-closed file that lives on elsewhere may still fire under the
 * number). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hub_internal.h"

static hub__waiter **slot_of(hub__io *io, int events)
{
    return events == HUB__READ ? &io->reader : &io->writer;
}

/* Wake the wait in *slot (if any) with HUB_OK; the slot is free from now on. */
static void wake(hub__hub *h, hub__waiter **slot)
{
    hub__waiter *w = *slot;
    if (w) {
        *slot = NULL;
        hub__waiter_wake(h, w);
    }
}

/* Wake both waits with an error: HUB_ECLOSED, or HUB_ESYS with errno `err`. */
static void fail_waits(hub__hub *h, hub__io *io, int code, int err, const char *why)
{
    hub__waiter **slots[2] = {&io->reader, &io->writer};
    for (int i = 0; i < 2; i++) {
        hub__waiter *w = *slots[i];
        if (!w)
            continue;
        *slots[i] = NULL;
        if (code == HUB_ESYS)
            hub__waiter_resolve(h, w, code, (void *)(intptr_t)err, "fd %d: %s%s", io->fd,
                                strerror(err), why);
        else
            hub__waiter_resolve(h, w, code, NULL, "fd %d was closed while this greenlet "
                                "waited to %s", io->fd, i ? "write" : "read");
    }
}

/* A wait trusts io unchecked: it joins the list the loop checks. */
static inline void trust(hub__hub *h, hub__io *io)
{
    if (!io->unchecked) {
        io->unchecked = 1;
        io->trusted_since = h->now;
        hub__list_push(&h->unchecked, &io->unchecked_node);
    }
}

static inline void untrust(hub__hub *h, hub__io *io)
{
    if (io->unchecked) {
        io->unchecked = 0;
        hub__list_remove(&h->unchecked, &io->unchecked_node);
    }
}

/* Forget io (its waits, if any, were woken). */
static void drop(hub__hub *h, hub__io *io)
{
    untrust(h, io);
    if (io->backend)
        h->ops->io_free(h->loop, io);
    h->ios[io->fd] = NULL;
    free(io);
}

/* Make io watch the file `st` describes: a backend watcher, or none for a file poll
 * would call always ready. 0 or an errno value. */
static int attach(hub__hub *h, hub__io *io, const struct stat *st)
{
    io->dev = st->st_dev;
    io->ino = st->st_ino;
    io->recv_waited = 0;
    /* poll() calls regular files always ready; epoll refuses them (EPERM). */
    io->always_ready = S_ISREG(st->st_mode) || S_ISDIR(st->st_mode);
    if (io->always_ready)
        return 0;
    int err = h->ops->io_init(h->loop, io);
    if (err == EPERM) {
        io->always_ready = 1;
        err = 0;
    }
    return err;
}

/* A new record for fd, which is open (st: fstat(fd) now). NULL with the error recorded. */
static hub__io *io_new(hub__hub *h, int fd, const struct stat *st, const char *what)
{
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
    hub__io *io = calloc(1, sizeof *io);
    if (!io) {
        hub__fail(GL_ENOMEM, NULL, "%s: out of memory", what);
        return NULL;
    }
    io->hub = h;
    io->fd = fd;
    int err = attach(h, io, st);
    if (err) {
        free(io);
        hub__fail_errno(err, "%s(%d)", what, fd);
        return NULL;
    }
    h->ios[fd] = io;
    return io;
}

/* Is io's number still the file io was made for? 0 if it is, or once io is remade
 * for the file it names now (its waits go on there; those it can serve at once are
 * woken); otherwise an errno value (the number is not open: EBADF) and io is gone, its
 * waits woken with HUB_ESYS. */
static int check(hub__hub *h, hub__io *io)
{
    struct stat st;
    untrust(h, io);
    io->suspect = 0;
    if (fstat(io->fd, &st) < 0) {
        int err = errno;
        fail_waits(h, io, HUB_ESYS, err, " (closed without hub_close while waited on)");
        drop(h, io);
        return err;
    }
    if (st.st_dev == io->dev && st.st_ino == io->ino)
        return 0;
    if (io->backend)
        h->ops->io_free(h->loop, io);
    int err = attach(h, io, &st);
    int wanted = hub__io_wanted(io);
    if (!err && !io->always_ready && wanted)
        err = h->ops->io_set(h->loop, io, wanted);
    if (err) {
        fail_waits(h, io, HUB_ESYS, err, "");
        drop(h, io);
        return err;
    }
    struct pollfd p = {.fd = io->fd, .events = (wanted & HUB__READ ? POLLIN : 0) |
                                               (wanted & HUB__WRITE ? POLLOUT : 0)};
    if (io->always_ready)
        p.revents = POLLIN | POLLOUT;
    else if (!wanted || poll(&p, 1, 0) <= 0)
        return 0; /* the loop's next poll serves them */
    if (p.revents & (POLLIN | POLLERR | POLLHUP))
        wake(h, &io->reader);
    if (p.revents & (POLLOUT | POLLERR | POLLHUP))
        wake(h, &io->writer);
    return 0;
}

/* Records checked per HUB_FD_CHECK_IDLE of quiet. */
#define IDLE_BATCH 8

void hub__io_check_due(hub__hub *h, int64_t now)
{
    /* Quiet: whatever waits on a stale record waits for nothing, and a stale record
     * rises to the head of the list while the waits on healthy ones are served and go
     * to its tail; so check the records that have waited longest, a few for each
     * HUB_FD_CHECK_IDLE of quiet (a load generator descheduled for a moment leaves a
     * thousand healthy connections waiting: they are not all checked at once). Those
     * trusted for HUB_FD_CHECK_MAX: every one, a batch per pass. */
    int idle = h->io_quiet_since >= 0 &&
               now - h->io_quiet_since >= (int64_t)(HUB_FD_CHECK_IDLE * 1e9);
    int quiet_checks = idle ? IDLE_BATCH : 0;
    for (int batch = 64; batch > 0 && h->unchecked.head; batch--) {
        hub__io *io = hub__container_of(h->unchecked.head, hub__io, unchecked_node);
        if (now - io->trusted_since < (int64_t)(HUB_FD_CHECK_MAX * 1e9) && quiet_checks-- <= 0)
            break;
        check(h, io);
    }
    if (idle)
        h->io_quiet_since = now; /* the next few after as much quiet again */
}

int64_t hub__io_next_check(const hub__hub *h, int64_t now)
{
    if (!h->unchecked.head)
        return -1;
    const hub__io *io = hub__container_of(h->unchecked.head, hub__io, unchecked_node);
    /* A poll about to start finding nothing starts the quiet period. */
    int64_t idle = (h->io_quiet_since >= 0 ? h->io_quiet_since : now) +
                   (int64_t)(HUB_FD_CHECK_IDLE * 1e9);
    int64_t max = io->trusted_since + (int64_t)(HUB_FD_CHECK_MAX * 1e9);
    return idle < max ? idle : max;
}

int hub__io_check_waits_of(hub__hub *h, gl_greenlet *g)
{
    for (hub__node *n = h->unchecked.head, *next; n; n = next) {
        next = n->next;
        hub__io *io = hub__container_of(n, hub__io, unchecked_node);
        hub__waiter *w = io->reader && io->reader->greenlet == g   ? io->reader
                         : io->writer && io->writer->greenlet == g ? io->writer
                                                                   : NULL;
        if (w) {
            check(h, io);
            return w->state != HUB__WAITING;
        }
    }
    return 0;
}

/* A wait's own timeout. */
static void timed_out(hub__hub *h, hub__timer *t)
{
    hub__waiter *w = hub__container_of(t, hub__waiter, timer);
    hub__io *io = w->ctx; /* a waiter with its timer armed is in its slot */
    if (io->unchecked && (check(h, io) != 0 || w->state != HUB__WAITING))
        return; /* not a timeout: the number was closed, or reused and ready */
    *(io->reader == w ? &io->reader : &io->writer) = NULL;
    hub__waiter_resolve(h, w, HUB_ETIMEOUT, NULL, "%s after %g s", hub_strerror(HUB_ETIMEOUT),
                        w->timeout_seconds);
}

void hub__io_ready(hub__io *io, int events, int err)
{
    hub__hub *h = io->hub;
    h->io_events++;
    if (err) {
        fail_waits(h, io, HUB_ESYS, err, "");
        return;
    }
    int wanted = hub__io_wanted(io);
    if (events & HUB__READ)
        wake(h, &io->reader);
    if (events & HUB__WRITE)
        wake(h, &io->writer);
    /* Level-triggered: a direction nobody waited for fires at every poll until it is no
     * longer polled for. One that was waited for is kept: its waiter usually waits again
     * before the next poll, and re-arming would cost an epoll_ctl per wait. */
    if (events & ~wanted & io->watching) {
        int now = hub__io_wanted(io);
        if (now && io->unchecked && check(h, io) != 0)
            return; /* gone */
        if (now != io->watching && (err = h->ops->io_set(h->loop, io, now)) != 0)
            fail_waits(h, io, HUB_ESYS, err, " (the loop could not watch it)");
    }
}

/* hub__io_wait with timeout 0: poll once, the number's file now, whatever the record
 * says. */
static __attribute__((noinline)) int poll_once(hub__io *io, int fd, int events, const char *what)
{
    if (io && *slot_of(io, events))
        return hub__fail(HUB_EBUSY, NULL, "%s(%d): another greenlet already waits on it", what,
                         fd);
    struct pollfd p = {.fd = fd, .events = events == HUB__READ ? POLLIN : POLLOUT};
    int n = poll(&p, 1, 0);
    if (n < 0 || (n > 0 && (p.revents & POLLNVAL)))
        return hub__fail_errno(n < 0 ? errno : EBADF, "%s(%d)", what, fd);
    if (n > 0)
        return HUB_OK;
    return hub__fail(HUB_ETIMEOUT, NULL, "%s(%d): not ready", what, fd);
}

/* The record a wait on fd can use: io (NULL: none yet) checked, or a new one. NULL
 * with the error recorded. */
static __attribute__((noinline)) hub__io *checked(hub__hub *h, hub__io *io, int fd,
                                                  const char *what)
{
    if (io) {
        int err = check(h, io);
        if (err) {
            hub__fail_errno(err, "%s(%d)", what, fd);
            return NULL;
        }
        return io;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        hub__fail_errno(errno, "%s(%d)", what, fd);
        return NULL;
    }
    return io_new(h, fd, &st, what);
}

int hub__io_wait(hub__hub *h, int fd, int events, double timeout, const char *what)
{
    hub__io *io = hub__io_find(h, fd);
    if (timeout == 0)
        return poll_once(io, fd, events, what);
    /* Since the last wait, the number may have been closed, or closed and reused for
     * another file, which the loop does not watch (nobody may close a descriptor that
     * greenlets wait on without hub_close(), so a record in use is as good as its
     * wait's). The top of this file says when a wait checks, and when it trusts. */
    if (!io) {
        if (!(io = checked(h, io, fd, what)))
            return gl_last_error()->code;
    } else if ((io->watching & events) != events || io->always_ready || io->suspect) {
        if ((io->unchecked || io->suspect || (!io->reader && !io->writer)) &&
            !(io = checked(h, io, fd, what)))
            return gl_last_error()->code;
    } else if (!io->reader && !io->writer) {
        trust(h, io);
    }
    if (io->always_ready)
        return HUB_OK;
    hub__waiter **slot = slot_of(io, events);
    if (*slot)
        return hub__fail(HUB_EBUSY, NULL, "%s(%d): another greenlet already waits on it", what,
                         fd);
    hub__waiter *w = hub__waiter_new(h);
    if (!w)
        return GL_ENOMEM;
    *slot = w;
    int rc = HUB_OK;
    int wanted = hub__io_wanted(io);
    if ((io->watching & wanted) != wanted && (rc = h->ops->io_set(h->loop, io, wanted)) != 0)
        rc = hub__fail_errno(rc, "%s(%d): the loop cannot watch it", what, fd);
    if (rc == HUB_OK && timeout > 0 && !__builtin_isinf(timeout)) { /* infinite: no limit */
        w->ctx = io;
        w->timer.fire = timed_out;
        w->timeout_seconds = timeout;
        rc = hub__timer_start(h, &w->timer, timeout);
    }
    if (rc == HUB_OK) {
        h->io_waiters++;
        rc = hub__block(h, w);
        h->io_waiters--;
    }
    /* Woken, its slot was freed; thrown into (a kill, a hub_timeout), it is freed here.
     * hub_close() may have dropped the record meanwhile. */
    if ((io = hub__io_find(h, fd))) {
        if (*(slot = slot_of(io, events)) == w)
            *slot = NULL;
        if (!io->reader && !io->writer)
            untrust(h, io); /* no wait trusts it any more */
    }
    hub__waiter_free(h, w);
    return rc;
}

static int wait_fd(int fd, int events, double timeout, const char *what)
{
    if (hub__check_seconds(timeout, what) != HUB_OK)
        return GL_EINVAL;
    if (fd < 0)
        return hub__fail(GL_EINVAL, NULL, "%s: invalid descriptor %d", what, fd);
    hub__hub *h = hub__get(1);
    if (!h)
        return gl_last_error()->code;
    return hub__io_wait(h, fd, events, timeout, what);
}

int hub_wait_read(int fd, double timeout) { return wait_fd(fd, HUB__READ, timeout, "hub_wait_read"); }

int hub_wait_write(int fd, double timeout)
{
    return wait_fd(fd, HUB__WRITE, timeout, "hub_wait_write");
}

int hub_close(int fd)
{
    if (fd < 0)
        return hub__fail(GL_EINVAL, NULL, "hub_close: invalid descriptor %d", fd);
    hub__hub *h = hub__get(0);
    hub__io *io = h ? hub__io_find(h, fd) : NULL;
    if (io) {
        /* gevent's cancel_wait: the waiters hear of it before the number can be reused. */
        fail_waits(h, io, HUB_ECLOSED, 0, NULL);
        drop(h, io);
    }
    if (close(fd) < 0)
        return hub__fail_errno(errno, "hub_close(%d)", fd);
    return HUB_OK;
}
