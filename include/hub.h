/*
 * hub.h — gevent's hub in C: a greenlet that runs an event loop (libev or libuv), and
 * cooperative greenlets that switch to it when they would block.
 *
 * Written once over the greenlet API (greenlet.h), so it runs on every port.
 *
 * Model
 *   Each logical thread has one hub, created the first time the thread calls into this
 *   API. The hub is a greenlet whose parent is the thread's main greenlet. A greenlet
 *   that would block (sleep, join, Event/Queue/Semaphore wait, I/O wait) registers
 *   what will wake it and switches to the hub; the hub runs the loop and switches back.
 *   Only greenlets started by hub_spawn() have the hub as parent; the main greenlet (and
 *   any greenlet of your own) may block in the hub too.
 *   When everything waits and nothing queued, armed or watched can wake anyone, the hub
 *   throws HUB_ELOOPEXIT into the main greenlet, as gevent's hub raises LoopExit in its
 *   parent: main's blocked call returns it (the others stay suspended), and the next
 *   blocking call resumes the hub.
 *
 * Scheduling guarantees (the same on both loop backends)
 *   - One FIFO of callbacks runs in the hub: spawn, sleep(0), wake-ups. Spawned
 *     greenlets first run in spawn order, and not before the spawner blocks or yields.
 *   - hub_sleep(0) yields round robin: the caller goes to the tail of the FIFO.
 *   - The hub runs at most HUB_CALLBACK_BUDGET callbacks (including ones queued during
 *     the pass) before it looks at timers and I/O again, so `for (;;) hub_sleep(0);`
 *     cannot starve a due timer.
 *   - Timers fire in deadline order; equal deadlines in the order they were set.
 *     A timer never fires before its deadline. Expired timers and ready I/O queue
 *     their wake-ups at the tail of the FIFO.
 *   - Waiters on a greenlet (join), Event, AsyncResult, Semaphore and Queue are served
 *     in the order they started waiting. Setting an Event, putting into a Queue,
 *     releasing a Semaphore never switches: the woken greenlets run later, in order.
 *
 * Errors
 *   Like the greenlet API: every call that can fail returns an int, HUB_OK (0) or a
 *   code; gl_last_error() then has a readable message. Codes 1..39 are the greenlet
 *   API's, 40..99 the hub's (below), >= GL_EUSER the application's. A blocking call
 *   also returns any error *thrown into* the waiting greenlet: GL_EEXIT when it is
 *   killed, HUB_ETIMEOUT from a hub_timeout it started (gl_last_error()->data is then
 *   that hub_timeout), ... The call has cleaned up; pass the code on (`return
 *   gl_reraise();` from a greenlet's function) unless you mean to handle it.
 *   To record the error, the hub raises it into the calling greenlet itself
 *   (gl_throw() on the current greenlet), so a trace function sees a throw event.
 *
 * Time
 *   Durations are seconds as double. HUB_FOREVER (any negative value) and +infinity
 *   mean no timeout; 0 means "do not block": fail at once if the call would have to
 *   wait. NaN is GL_EINVAL everywhere, before anything else happens.
 *
 * Memory and the stack-copying port
 *   Everything the hub keeps while a greenlet is suspended lives on the heap: a
 *   stack-copying port makes pointers into a suspended greenlet's stack invalid. Your
 *   own code must obey the same rule: pass heap or static data between greenlets,
 *   never addresses of locals of a greenlet that will be suspended.
 *
 * Threads
 *   Hub objects belong to the logical thread whose hub created them; using them from
 *   another thread returns GL_ETHREAD.
 */
#ifndef HUB_H
#define HUB_H

#include <stddef.h>
#include <stdint.h>
#include "greenlet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------------------- */

enum {
    HUB_OK = 0,
    HUB_ETIMEOUT = 40,       /* a timeout expired (hub_timeout, or a call's own timeout) */
    HUB_ELOOPEXIT = 41,      /* this operation would block forever (gevent's LoopExit) */
    HUB_ECLOSED = 42,        /* the descriptor was closed (hub_close) while waiting on it */
    HUB_EFULL = 43,          /* the queue is full (non-blocking put, or put timed out) */
    HUB_EEMPTY = 44,         /* the queue is empty (non-blocking get, or get timed out) */
    HUB_EINVALIDSWITCH = 45, /* something switched into a waiting greenlet without the hub */
    HUB_EBUSY = 46,          /* already in use: another greenlet waits on that fd/direction,
                                an object still has waiters, the hub is already created */
    HUB_EBLOCKING = 47,      /* a blocking call made by the hub itself */
    HUB_ESYS = 48,           /* an OS call failed: errno in hub_errno() */
    HUB_ELOOP = 49,          /* unknown loop backend, or it failed to start */
    HUB_ERELEASE = 50,       /* semaphore/lock released more times than acquired */
    HUB_EALREADY = 51,       /* an AsyncResult was already set */
    HUB_EDONE = 52           /* nothing left: every object of a hub_iwait was returned */
};

/* No timeout. */
#define HUB_FOREVER (-1.0)

/* Callbacks the hub runs before it looks at timers and I/O again. */
#define HUB_CALLBACK_BUDGET 1000

/* A short readable name of a hub error code; other codes go to gl_strerror(). */
const char *hub_strerror(int code);

/* errno of the calling greenlet's last error if that was HUB_ESYS, else 0. */
int hub_errno(void);

/* ---- the hub and its loop ---------------------------------------------------------- */

/* Choose the loop backend ("libev" or "libuv") for hubs created after this call,
 * process-wide. Without a call, the environment variable SWITCHYARD_LOOP decides, and
 * libev is the default. GL_EINVAL for an unknown name (NULL resets to the default). */
int hub_set_loop(const char *name);

/* Name of the backend of this thread's hub (creating the hub if needed), or NULL if
 * the hub cannot be created (gl_last_error() says why, e.g. a bad SWITCHYARD_LOOP). */
const char *hub_loop_name(void);

/* Monotonic clock, in seconds: the clock timers are measured against. */
double hub_now(void);

/* Destroy this thread's hub and its loop, so that leak checkers see nothing. Only when
 * nothing is left to run or wait (HUB_EBUSY otherwise, with the count in the message);
 * not from the hub itself. A later call into the API creates a new hub.
 * A thread that exits without it loses nothing either: at its exit, the greenlets its
 * hub still runs are killed (GL_EEXIT, as hub_kill(): their cleanup runs) and given
 * HUB_EXIT_GRACE seconds to end, then the hub and its loop are destroyed; a greenlet
 * that still waits then (it caught GL_EEXIT) is abandoned, never resumed. (The
 * process's initial thread ends with exit(), which frees everything anyway.) */
int hub_destroy(void);

/* Seconds a thread's exit gives the greenlets its hub kills (see hub_destroy()). */
#define HUB_EXIT_GRACE 1.0

/* ---- hub greenlets --------------------------------------------------------------------- */

/*
 * A hub_greenlet is a handle on a greenlet started by the hub, with the state gevent's
 * Greenlet has: started, dead, value or error, the greenlets joining it.
 *
 * Ownership: hub_spawn() gives the caller one reference (when `out` is not NULL);
 * give it back with hub_greenlet_release(). The hub holds its own reference until the
 * greenlet is dead; the handle stays valid (for hub_greenlet_value() etc.) until both
 * are gone. With out == NULL the greenlet is fire-and-forget.
 *
 * The function is a gl_run_fn: it receives `arg`; its return value becomes the
 * greenlet's value; `return gl_raise(code, ...)` / `return gl_reraise();` make it fail
 * with that error, which the hub records (and reports on stderr) and which does not
 * stop the hub. GL_EEXIT (GreenletExit, e.g. from hub_kill) ends it successfully.
 * The underlying gl_greenlet's parent is the hub and its user-data slot is the hub's:
 * do not change either.
 */
typedef struct hub_greenlet hub_greenlet;

/* Schedule fn(arg) to start in a new greenlet on the hub's next pass, after the
 * greenlets spawned before it. Does not switch. */
int hub_spawn(hub_greenlet **out, gl_run_fn fn, void *arg);

/* As hub_spawn(), starting after `seconds` (0: after the callbacks queued now; negative,
 * infinite or NaN: GL_EINVAL). */
int hub_spawn_later(hub_greenlet **out, double seconds, gl_run_fn fn, void *arg);

/* Give back the caller's reference (once; GL_EINVAL for NULL or a second release
 * while the greenlet is alive). The greenlet itself runs on. */
int hub_greenlet_release(hub_greenlet *g);

/* The hub greenlet running now, or NULL (main, or a greenlet not started by the hub). */
hub_greenlet *hub_current(void);

int hub_greenlet_started(const hub_greenlet *g); /* its function began to run */
int hub_greenlet_dead(const hub_greenlet *g);    /* finished, or killed (even unstarted) */
/* Dead and did not fail (killed counts as success, as in gevent). */
int hub_greenlet_successful(const hub_greenlet *g);
/* The value it returned (NULL until dead, or if it failed). */
void *hub_greenlet_value(const hub_greenlet *g);
/* The error it failed with, or NULL. */
const gl_error *hub_greenlet_error(const hub_greenlet *g);
/* The underlying greenlet while it is alive (unstarted or active), NULL once dead. */
gl_greenlet *hub_greenlet_gl(const hub_greenlet *g);

/* Wait until `g` is dead. HUB_OK (whatever g's own outcome), HUB_ETIMEOUT, or an error
 * thrown into the caller. Returns at once if g is dead; GL_EINVAL for the caller
 * itself. */
int hub_join(hub_greenlet *g, double timeout);

/* Wait until all `n` greenlets are dead (duplicates allowed), within one timeout. */
int hub_joinall(hub_greenlet *const *gs, size_t n, double timeout);

/* hub_join(), then g's outcome: HUB_OK with *value (may be NULL) if it succeeded, or
 * its error code with gl_last_error() set to its error. */
int hub_get(hub_greenlet *g, double timeout, void **value);

/* Kill `g`: raise GL_EEXIT (GreenletExit) in it, and wait until it is dead (up to
 * `timeout`; HUB_ETIMEOUT if it survives that long). Its cleanup code runs before this
 * returns. An unstarted greenlet is just marked dead: its function never runs. A dead
 * one: HUB_OK at once. Killing the calling greenlet raises GL_EEXIT in it: returns
 * GL_EEXIT. */
int hub_kill(hub_greenlet *g, double timeout);

/* As hub_kill() without waiting: the exception is delivered by the hub on its next
 * pass (an unstarted greenlet is marked dead at once). Does not switch. */
int hub_kill_nowait(hub_greenlet *g);

/* Called by the hub once `g` is dead: see hub_greenlet_link(). */
typedef void (*hub_link_fn)(hub_greenlet *g, void *arg);

/* gevent's rawlink: call fn(g, arg) from the hub once g is dead (soon after, if it
 * already is), in the order links and joins on g were made. fn runs in the hub: it
 * must not block (blocking calls return HUB_EBLOCKING there), but may set events, put
 * into queues, spawn, kill without waiting. g stays valid during the call. */
int hub_greenlet_link(hub_greenlet *g, hub_link_fn fn, void *arg);

/* ---- callbacks ------------------------------------------------------------------------ */

/*
 * gevent's loop.run_callback: a function the hub calls on its next pass, from the same
 * FIFO as spawns and wake-ups (after what is queued now; one queued while the hub runs
 * its FIFO runs in the same pass, before timers and I/O). It keeps the hub running
 * until it ran. The function runs in the hub: it must not block (blocking calls return
 * HUB_EBLOCKING there), but may spawn, set events, put into queues, queue callbacks.
 */
typedef struct hub_callback hub_callback;
typedef void (*hub_callback_fn)(void *arg);

/* Queue fn(arg); does not switch. With `out` (may be NULL), the caller gets a handle:
 * give it back with hub_callback_cancel(), exactly once, whether or not it ran. */
int hub_run_callback(hub_callback **out, hub_callback_fn fn, void *arg);

/* 1 while it is queued: not run yet, not cancelled (0 for NULL). */
int hub_callback_pending(const hub_callback *cb);

/* Stop it if it has not run yet (it never will), and give the handle back. */
int hub_callback_cancel(hub_callback *cb);

/* ---- sleeping and timeouts ------------------------------------------------------------ */

/* Let the hub run for `seconds`. 0 yields to every greenlet ready now (round robin);
 * +infinity sleeps until an error is thrown in (a kill, a hub_timeout; HUB_ELOOPEXIT
 * when nothing else can run); negative or NaN is GL_EINVAL. HUB_OK, or an error thrown
 * into the caller meanwhile. */
int hub_sleep(double seconds);

/*
 * A Timeout, as gevent's: started by a greenlet, it raises HUB_ETIMEOUT in that
 * greenlet (wherever it waits) when `seconds` have passed, unless cancelled first.
 * The thrown error's data is the hub_timeout, so nested timeouts can tell whose it is:
 *   hub_timeout *t;
 *   hub_timeout_start(&t, 0.5);
 *   int rc = do_work();
 *   if (rc == HUB_ETIMEOUT && gl_last_error()->data == t) ... this one fired ...
 *   hub_timeout_cancel(t);
 * Negative or infinite seconds never fire. If the greenlet is not waiting when it
 * fires, it gets the error at its next blocking call (the wake-up it already had comes
 * first).
 * A timeout started by a hub greenlet is disarmed when that greenlet dies; one started
 * by a greenlet of your own must be cancelled before you destroy that greenlet.
 */
typedef struct hub_timeout hub_timeout;

/* Allocate and arm a timeout for the calling greenlet. */
int hub_timeout_start(hub_timeout **out, double seconds);

/* Disarm (if it did not fire yet) and free. Call exactly once per started timeout.
 * GL_EINVAL for NULL. */
int hub_timeout_cancel(hub_timeout *t);

/* What hub_with_timeout() runs: returns HUB_OK or an error code (passing on what its
 * blocking calls returned), and hands results back through `arg`. */
typedef int (*hub_timed_fn)(void *arg);

/* gevent's with_timeout: call fn(arg) in the calling greenlet with a hub_timeout of
 * `seconds` around it, and return what fn returns. If that timeout fires while fn waits
 * and fn passes the HUB_ETIMEOUT on, the result is HUB_ETIMEOUT (gl_last_error()->data
 * NULL) — or, with `timed_out` not NULL, HUB_OK and *timed_out = 1: gevent's
 * timeout_value, the caller takes its default. A timeout fn catches is fn's business
 * (its return stands); an enclosing scope's timeout firing inside fn is passed on
 * unchanged, never taken for this one. */
int hub_with_timeout(double seconds, hub_timed_fn fn, void *arg, int *timed_out);

/* ---- Event and AsyncResult --------------------------------------------------------------- */

typedef struct hub_event hub_event;

/* A flag, initially clear. GL_ENOMEM if out of memory. */
int hub_event_new(hub_event **out);
/* HUB_EBUSY (nothing freed) while greenlets wait on it. */
int hub_event_free(hub_event *e);
/* Set the flag and wake every waiter, in the order they waited. Does not switch. */
int hub_event_set(hub_event *e);
/* Clear the flag; greenlets already woken stay woken. */
int hub_event_clear(hub_event *e);
/* 1 if the flag is set (0 for NULL). */
int hub_event_is_set(const hub_event *e);
/* HUB_OK at once if set (without yielding), except while greenlets woken by the set
 * have not all run: the caller then runs right after them, as gevent's
 * test_wait_while_notifying asks. Not set: wait until it is (HUB_OK even if cleared
 * again before the waiter ran) or HUB_ETIMEOUT. */
int hub_event_wait(hub_event *e, double timeout);

typedef struct hub_async_result hub_async_result;

/* A one-shot result: a value or an error, set once, read by any number of greenlets. */
int hub_async_result_new(hub_async_result **out);
/* HUB_EBUSY (nothing freed) while greenlets wait on it. */
int hub_async_result_free(hub_async_result *r);
/* Set the value and wake every waiter in order; HUB_EALREADY if already set. */
int hub_async_result_set(hub_async_result *r, void *value);
/* Set an error (code > 0, message printf-style) instead; HUB_EALREADY if already set. */
int hub_async_result_set_error(hub_async_result *r, int code, void *data, const char *fmt,
                               ...) __attribute__((format(printf, 4, 5)));
/* 1 once a value or an error was set. */
int hub_async_result_ready(const hub_async_result *r);
/* Wait for it: HUB_OK with *value, the stored error (gl_last_error() has its message
 * and data), or HUB_ETIMEOUT. */
int hub_async_result_get(hub_async_result *r, double timeout, void **value);

/* ---- waiting for the first of several ---------------------------------------------------- */

/*
 * gevent's wait() and iwait(): wait for objects to become ready, and learn which did, in
 * the order they did. Ready means: a greenlet is dead (whatever its outcome), an Event
 * is set, an AsyncResult has its value or error. Waiting takes nothing: the Event stays
 * set, the result stays for its other readers. An object is described by a
 * hub_waitable, made with the functions below; it must stay valid while waited for
 * (until hub_wait returns, until hub_iwait_free).
 */
typedef enum {
    HUB_WAIT_GREENLET = 1,
    HUB_WAIT_EVENT = 2,
    HUB_WAIT_ASYNC_RESULT = 3
} hub_waitable_kind;

typedef struct hub_waitable {
    hub_waitable_kind kind;
    union {
        hub_greenlet *greenlet;
        hub_event *event;
        hub_async_result *result;
    } u;
} hub_waitable;

static inline hub_waitable hub_waitable_greenlet(hub_greenlet *g)
{
    hub_waitable w;
    w.kind = HUB_WAIT_GREENLET;
    w.u.greenlet = g;
    return w;
}
static inline hub_waitable hub_waitable_event(hub_event *e)
{
    hub_waitable w;
    w.kind = HUB_WAIT_EVENT;
    w.u.event = e;
    return w;
}
static inline hub_waitable hub_waitable_async_result(hub_async_result *r)
{
    hub_waitable w;
    w.kind = HUB_WAIT_ASYNC_RESULT;
    w.u.result = r;
    return w;
}

/* An iterator over n objects as they become ready (gevent's iwait). `timeout` bounds
 * the whole iteration, from this call. Objects ready already come first, in array
 * order; a duplicate is returned once per occurrence. GL_EINVAL for a NULL or unknown
 * object, GL_ETHREAD for one of another thread's hub; nothing is linked then. */
typedef struct hub_iwait hub_iwait;
int hub_iwait_new(hub_iwait **out, const hub_waitable *objects, size_t n, double timeout);

/* The index (into the array given to hub_iwait_new) of the next object to be ready,
 * waiting for it: HUB_OK; HUB_ETIMEOUT once the iteration's timeout passed; HUB_EDONE
 * once every object was returned; or an error thrown into the caller. */
int hub_iwait_next(hub_iwait *it, size_t *index);

/* Stop waiting for the objects not returned yet (their links go) and free. */
int hub_iwait_free(hub_iwait *it);

/* gevent's wait(objects, timeout, count): wait until `count` of the n objects are ready
 * (0, or more than n: all of them), or `timeout` passes. ready[] (room for that many
 * indexes) receives the indexes of the ready ones in the order they became ready, and
 * *nready their number, whatever the outcome: HUB_OK (count reached), HUB_ETIMEOUT, or
 * an error thrown into the caller. n == 0 is HUB_OK at once. */
int hub_wait(const hub_waitable *objects, size_t n, size_t count, double timeout, size_t *ready,
             size_t *nready);

/* ---- Queue ------------------------------------------------------------------------------- */

typedef struct hub_queue hub_queue;

/* A FIFO of pointers; maxsize 0 = unbounded. */
int hub_queue_new(hub_queue **out, size_t maxsize);
/* HUB_EBUSY (nothing freed) while greenlets wait on it. Items left in it are dropped. */
int hub_queue_free(hub_queue *q);
/* Append; on a full bounded queue wait for room: HUB_EFULL when `timeout` passes
 * (at once for 0). Blocked putters go in the order they blocked. Never switches when
 * there is room. */
int hub_queue_put(hub_queue *q, void *item, double timeout);
/* Take the oldest item; on an empty queue wait: HUB_EEMPTY when `timeout` passes (at
 * once for 0). Blocked getters receive items in the order they blocked. */
int hub_queue_get(hub_queue *q, double timeout, void **item);
/* Items in the queue now (not counting blocked putters' items). */
size_t hub_queue_size(const hub_queue *q);

/* ---- Semaphore and Lock ------------------------------------------------------------------- */

typedef struct hub_semaphore hub_semaphore;
typedef struct hub_semaphore hub_lock; /* a semaphore with value 1 and bound 1 */

/* A counting semaphore starting at `value`. bound > 0 makes releasing above `bound`
 * an error (HUB_ERELEASE), as BoundedSemaphore; 0 = no bound. */
int hub_semaphore_new(hub_semaphore **out, unsigned value, unsigned bound);
/* HUB_EBUSY (nothing freed) while greenlets wait on it. */
int hub_semaphore_free(hub_semaphore *s);
/* Take one unit: at once if available (never yields then), else wait; HUB_ETIMEOUT.
 * Blocked acquirers are served in the order they blocked. */
int hub_semaphore_acquire(hub_semaphore *s, double timeout);
/* Give one unit back (to the first blocked acquirer, if any). Does not switch. */
int hub_semaphore_release(hub_semaphore *s);
/* Units available now. */
unsigned hub_semaphore_value(const hub_semaphore *s);

/* A Lock: hub_semaphore_new(out, 1, 1); free and acquire as the semaphore's. */
int hub_lock_new(hub_lock **out);
int hub_lock_free(hub_lock *l);
int hub_lock_acquire(hub_lock *l, double timeout);
/* HUB_ERELEASE if the lock is not held. */
int hub_lock_release(hub_lock *l);

/* ---- I/O waits and sockets ------------------------------------------------------------------ */

/*
 * Waits on a file descriptor. One greenlet at a time may wait for reading, and one
 * for writing, on a given descriptor (HUB_EBUSY otherwise). A negative fd is GL_EINVAL,
 * a descriptor that is not open HUB_ESYS (hub_errno() == EBADF). Regular files are
 * always ready. A descriptor nobody waits on may be closed with plain close(2): a later
 * wait on its number, once reused, watches the new file (the hub checks, with one
 * fstat(2) per wait that finds nobody waiting on the descriptor). One that greenlets
 * wait on must be closed with hub_close(): it wakes them with HUB_ECLOSED and tells the
 * loop first (libev aborts, by an assertion, on a watched descriptor that was closed
 * behind its back, or on the loop's own epoll descriptor; libuv reports the latter as
 * HUB_ESYS).
 */
/* Wait until `fd` is readable (hub_wait_read) or writable (hub_wait_write):
 * HUB_OK, HUB_ETIMEOUT (timeout 0: poll once), HUB_ECLOSED, HUB_EBUSY, HUB_ESYS. */
int hub_wait_read(int fd, double timeout);
int hub_wait_write(int fd, double timeout);

/* Close `fd`: waiters on it get HUB_ECLOSED; the loop forgets it; then close(2).
 * HUB_ESYS if close(2) fails. */
int hub_close(int fd);

/* A non-blocking TCP socket listening on `host` (numeric IPv4; NULL = 127.0.0.1) and
 * `port` (0 = an ephemeral port; see hub_socket_port()). */
int hub_tcp_listen(const char *host, uint16_t port, int backlog, int *fd_out);

/* The local port a socket is bound to, or -1 (HUB_ESYS recorded). */
int hub_socket_port(int fd);

/* Accept a connection (non-blocking descriptor in *fd_out), waiting up to `timeout`.
 * `listen_fd` must be non-blocking, as hub_tcp_listen() makes it. */
int hub_accept(int listen_fd, double timeout, int *fd_out);

/* Connect to host:port (numeric IPv4; NULL = 127.0.0.1), waiting up to `timeout`.
 * A refused connection is HUB_ESYS with hub_errno() == ECONNREFUSED. */
int hub_tcp_connect(const char *host, uint16_t port, double timeout, int *fd_out);

/* Receive up to `len` bytes, waiting for some to arrive: *received is 0 at end of
 * stream. `buf` must belong to the caller (it is written while the caller runs). */
int hub_recv(int fd, void *buf, size_t len, double timeout, size_t *received);

/* Send all `len` bytes, waiting whenever the socket is full. On error or timeout,
 * *sent (if not NULL) says how many went out. */
int hub_send_all(int fd, const void *buf, size_t len, double timeout, size_t *sent);

/* ---- a stream server (gevent's StreamServer) --------------------------------------------- */

/*
 * A listener, and a greenlet per connection running your handler. When accept() fails
 * for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays in the
 * backlog, the listener stays readable), the server does not retry at once, which
 * would spin: as gevent's StreamServer, it stops accepting for a delay that starts at
 * HUB_SERVER_MIN_DELAY and doubles with each failure up to HUB_SERVER_MAX_DELAY, and a
 * successful accept resets it; connections already accepted are served meanwhile. An
 * accept error that says the listener is unusable (EBADF, EINVAL, ENOTSOCK, or it was
 * closed) ends serving with that error. Stopping closes the listener, waits for the
 * handlers up to a timeout, then kills those left (gevent's stop() with a Pool).
 */
typedef struct hub_server hub_server;

/* Serves one connection, in a greenlet of its own; `fd` is non-blocking, with
 * TCP_NODELAY. The server closes it (hub_close) once the greenlet is dead, however it
 * ended: do not close it yourself. Return a value, or fail (gl_raise): the failure is
 * reported, the server goes on. Killed by a stop, it sees GL_EEXIT in its blocking
 * call: pass it on. */
typedef void *(*hub_handler_fn)(int fd, void *arg);

#define HUB_SERVER_MIN_DELAY 0.01  /* seconds: the first back-off after a failed accept */
#define HUB_SERVER_MAX_DELAY 1.0   /* the longest */
#define HUB_SERVER_KILL_GRACE 1.0  /* how long a stop waits for the handlers it killed */

/* A server over `listen_fd` (listening and non-blocking: hub_tcp_listen() makes one),
 * which it owns from now on (closed by hub_server_stop or hub_server_free). Does not
 * start. */
int hub_server_new(hub_server **out, int listen_fd, hub_handler_fn handle, void *arg);

/* gevent's min_delay / max_delay: 0 < min <= max, finite. */
int hub_server_set_delays(hub_server *s, double min_delay, double max_delay);

/* Start accepting, in a greenlet of the hub; returns at once. HUB_EBUSY if started. */
int hub_server_start(hub_server *s);

/* Start if needed, then wait until serving ends: HUB_OK after hub_server_stop() (from
 * another greenlet), or the accept error that ended it. */
int hub_server_serve_forever(hub_server *s);

/* Stop accepting, close the listener, wait up to `timeout` (negative: no limit) for the
 * handlers to end, then kill those left (GL_EEXIT) and wait HUB_SERVER_KILL_GRACE for
 * them. From a handler, it does not wait for that handler. HUB_OK, HUB_ETIMEOUT if
 * killed handlers still run after the grace, or an error thrown into the caller (call
 * it again). */
int hub_server_stop(hub_server *s, double timeout);

/* Free a server that is stopped (or never started) and whose handlers are all gone:
 * HUB_EBUSY otherwise. */
int hub_server_free(hub_server *s);

typedef struct hub_server_stats {
    uint64_t accepted;      /* connections accepted */
    uint64_t accept_errors; /* accept() calls that failed for want of resources */
    size_t active;          /* handler greenlets not yet over */
    double delay;           /* the back-off under way now (0: accepting) */
} hub_server_stats;

int hub_server_get_stats(const hub_server *s, hub_server_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* HUB_H */
