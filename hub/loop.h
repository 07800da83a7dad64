/*
 * loop.h — the small interface a loop backend implements (one file per backend, as
 * Redis ae.c / libev backends). The hub keeps its own callback FIFO and timer heap, so
 * ordering is the hub's and identical on every backend; a backend only watches
 * descriptors and sleeps until one is ready or a timeout passes.
 */
#ifndef HUB_LOOP_H
#define HUB_LOOP_H

#include <stdint.h>

enum { HUB__READ = 1, HUB__WRITE = 2 };

struct hub__io;

typedef struct hub__loop_ops {
    const char *name;
    /* Make a loop; 0 or an errno value. */
    int (*create)(void **loop);
    /* Free the loop (no descriptor watched any more). */
    void (*destroy)(void *loop);
    /* Prepare io->backend for io->fd, watching nothing yet; 0 or an errno value
     * (EPERM: the descriptor cannot be polled, e.g. a regular file). */
    int (*io_init)(void *loop, struct hub__io *io);
    /* Poll for exactly `events` (HUB__READ|HUB__WRITE; 0 stops) on the descriptor, and
     * set io->watching to what it polls for; 0 or an errno value. The hub calls it only
     * when that changes, and (stopping aside) only once it knows the number still names
     * the file io was made for: an epoll_ctl on a number closed behind the loop's back
     * aborts libuv. */
    int (*io_set)(void *loop, struct hub__io *io, int events);
    /* Stop and free io->backend (may finish later, from the loop). */
    void (*io_free)(void *loop, struct hub__io *io);
    /* Wait for descriptor events up to `timeout_ns` from `now_ns` (hub__now_ns(); 0:
     * only what is ready now; < 0: no limit), calling hub__io_ready() for each ready
     * descriptor. It may end earlier (the hub then polls again): a wake-up timer is
     * left armed from one poll to the next unless a nearer one is needed, so that a
     * busy loop bounding each poll costs no timer operation per poll. */
    void (*poll)(void *loop, int64_t now_ns, int64_t timeout_ns);
} hub__loop_ops;

/* Called by a backend from poll(): `events` became ready on io (err: an errno value
 * the backend reported for the descriptor, or 0). A backend that stopped polling on
 * its own (an error) sets io->watching to 0 first. The hub keeps polling for a
 * direction nobody waits on now until it fires again (a greenlet that reads, waits,
 * reads again then costs no epoll_ctl per wait), and narrows it then. */
void hub__io_ready(struct hub__io *io, int events, int err);

#endif /* HUB_LOOP_H */
