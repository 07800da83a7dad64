/*
 * threads — the baseline a program would otherwise pick: every greenlet is an OS
 * thread, and exactly one of a logical thread's greenlets runs at a time. A switch
 * hands a baton over: each greenlet waits on a futex word of its own (private futex,
 * three states so that a wake-up system call is made only when the receiver sleeps).
 *
 * A greenlet's OS thread is created at its first switch, on a stack reserved at
 * gl_new (mechanism/stack.c: guard gap, pool, valgrind registration), so running out of
 * address space or mappings is reported by gl_new, and the guard is exactly known to
 * the overflow reporter. If no OS thread can be had then (thread limits), that first
 * switch fails with an error and the greenlet stays unstarted.
 * The thread ends when the greenlet ends. When a logical thread
 * ends, the OS threads of its still-suspended greenlets are woken and told to exit
 * without running any more of their code, and joined: no thread is left behind.
 *
 * pthread_exit() (or a cancellation) inside a greenlet ends the logical thread, as on
 * the ports where the greenlet runs on that thread: the greenlet's OS thread unwinds
 * (its cleanup handlers run), then hands the baton to the main greenlet's OS thread,
 * which joins it and calls pthread_exit() with its value in turn (its own cleanup
 * handlers run, and pthread_join() of the thread the user created returns that value).
 *
 * What this strategy cannot hide: C thread-local variables (`__thread`, errno) are per
 * OS thread, so each greenlet sees its own, not its logical thread's; a process-wide
 * signal is handled on a thread that does not run greenlets (greenlet threads block
 * them, so that no handler runs on a suspended greenlet), concurrently with the
 * running greenlet; fork() from a greenlet keeps only the calling one's thread.
 */
#define _GNU_SOURCE /* pthread_attr_setsigmask_np */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "port.h"
#include "stack.h"

enum { BATON_WAIT = 0, BATON_GO = 1, BATON_SLEEPING = 2 };
enum { THREAD_NONE, THREAD_LIVE, THREAD_JOINED };

typedef struct th_ctx {
    atomic_int baton;          /* futex word: BATON_* */
    int cancel;                /* woken only to end its OS thread, running no user code;
                                  the main greenlet: to exit, as `exit_from` did */
    struct th_ctx *exit_from;  /* main greenlet: the greenlet whose OS thread exited */
    int ended;                 /* the greenlet finished: its OS thread is on its way out */
    int state;                 /* THREAD_*; a main greenlet is its thread's own code */
    pthread_t tid;
    gl__thread *thread;        /* the logical thread, adopted by the OS thread */
    gl__stack stack;           /* the OS thread's stack (not for a main greenlet) */
    struct th_ctx *home;       /* the main greenlet's context of the logical thread */
    struct th_ctx *prev, *next;/* greenlets with a live OS thread; the list head is home */
} th_ctx;

const size_t gl__port_ctx_size = sizeof(th_ctx);

const gl_port_info gl__port_info = {
    .name = "threads",
    .mechanism = "one OS thread per greenlet (created at its first switch); "
                 "a private futex per greenlet hands the baton over",
    .min_stack_size = GL__STACK_MIN_SIZE,
    .max_stack_size = GL__STACK_MAX_SIZE,
    .default_stack_size = 64 * 1024,
    .caps = GL_CAP_SEPARATE_STACKS | GL__STACK_GUARDS | GL_CAP_OS_THREADS,
};

/* The signal stack for the overflow reporter lives at the top of each greenlet's own
 * thread stack, far from the guard page it reports on. AddressSanitizer brings its own
 * handler and signal stacks. */
#if GL_ASAN
#define ALTSTACK_SIZE 0
#else
#define ALTSTACK_SIZE (16 * 1024)
#endif

/* A suspended greenlet is an OS thread waiting for the baton: a debugger shows its
 * stack as that thread's (gdb: greenlet bt switches to it). */
const gl__port_debug gl__port_debug_info = {
    .kind = GL__DEBUG_THREAD,
    .thread_offset = offsetof(th_ctx, tid),
    .note = "each greenlet is an OS thread: a suspended one is a thread waiting for the "
            "baton, and its stack is that thread's",
};

static inline th_ctx *ctx(gl_greenlet *g) { return gl__port_ctx(g); }

/* ---- the baton ------------------------------------------------------------------- */

static void futex(atomic_int *word, int op, int val)
{
    syscall(SYS_futex, (int *)word, op, val, NULL, NULL, 0);
}

/* Returns once the baton was handed to `c` (consuming it). */
static void baton_wait(th_ctx *c)
{
    for (;;) {
        int v = BATON_GO;
        if (atomic_compare_exchange_strong(&c->baton, &v, BATON_WAIT))
            return;
        if (v == BATON_WAIT &&
            !atomic_compare_exchange_strong(&c->baton, &v, BATON_SLEEPING))
            continue; /* it arrived meanwhile */
        futex(&c->baton, FUTEX_WAIT_PRIVATE, BATON_SLEEPING);
    }
}

static void baton_give(th_ctx *c)
{
    if (atomic_exchange(&c->baton, BATON_GO) == BATON_SLEEPING)
        futex(&c->baton, FUTEX_WAKE_PRIVATE, 1);
}

/* ---- the list of live OS threads of a logical thread ----------------------------- */

static void link_live(th_ctx *home, th_ctx *c)
{
    c->home = home;
    c->next = home;
    c->prev = home->prev;
    home->prev->next = c;
    home->prev = c;
}

static void unlink_live(th_ctx *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = c;
}

/* ---- a greenlet's OS thread --------------------------------------------------------- */

/* Where a greenlet's OS thread goes to end: the bottom of thread_main. Leaving by
 * longjmp rather than pthread_exit unwinds no user frames. */
static __thread jmp_buf *exit_point;

/* Set in a greenlet's OS thread while it may run user code: its destructor runs only
 * if the thread ends another way than through exit_point, i.e. by pthread_exit(). */
static pthread_key_t exited_inside_key;
static pthread_once_t exited_inside_once = PTHREAD_ONCE_INIT;

/* In the exiting greenlet's OS thread, after its cleanup handlers: the main greenlet's
 * OS thread (waiting for the baton, as every suspended greenlet) takes the exit on. */
static void exited_inside(void *arg)
{
    th_ctx *c = arg, *home = c->home;
    c->ended = 1;
    home->exit_from = c;
    home->cancel = 1;
    baton_give(home);
}

static void make_exited_inside_key(void)
{
    if (pthread_key_create(&exited_inside_key, exited_inside) != 0)
        abort(); /* no TLS keys left: nothing sensible to do */
}

static void *thread_main(void *arg)
{
    gl_greenlet *g = arg;
    th_ctx *c = ctx(g);
    jmp_buf out;
#if ALTSTACK_SIZE
    _Alignas(16) char altstack[ALTSTACK_SIZE];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
#endif
    gl__thread_adopt(c->thread);
    if (setjmp(out) == 0) {
        exit_point = &out;
        baton_wait(c);
        pthread_setspecific(exited_inside_key, c);
        if (!c->cancel)
            gl__entry(g); /* never returns: ends in gl__port_switch_final */
    }
    pthread_setspecific(exited_inside_key, NULL); /* ended through exit_point */
#if ALTSTACK_SIZE
    stack_t off = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
#endif
    return NULL;
}

static size_t thread_reserve(void)
{
    /* glibc keeps the thread descriptor and static TLS at the top of a stack we give
     * it; _SC_THREAD_STACK_MIN covers them. The requested size stays usable. */
    long min = sysconf(_SC_THREAD_STACK_MIN);
    return (min > 0 ? (size_t)min : 16384) + ALTSTACK_SIZE;
}

__attribute__((noreturn)) static void fatal(const char *what, int err)
{
    fprintf(stderr, "switchyard (threads port): %s: %s\n", what, strerror(err));
    abort();
}

/* A greenlet's thread blocks every signal that is not aimed at it (faults, SIGPIPE):
 * a process-wide one then goes to a thread that runs no greenlet of its own. */
static void greenlet_sigmask(sigset_t *set)
{
    static const int aimed[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
                                SIGPIPE, SIGXFSZ};
    sigfillset(set);
    for (size_t i = 0; i < sizeof aimed / sizeof aimed[0]; i++)
        sigdelset(set, aimed[i]);
}

/* The first switch into `to`: its OS thread starts with the baton already in hand.
 * Returns the pthread_create error (to is then left as it was). */
static int start_thread(th_ctx *from, gl_greenlet *to)
{
    th_ctx *t = ctx(to);
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_attr_setstack(&attr, t->stack.lo,
                               (size_t)((char *)t->stack.hi - (char *)t->stack.lo));
    sigset_t mask;
    greenlet_sigmask(&mask);
    if (rc == 0)
        rc = pthread_attr_setsigmask_np(&attr, &mask);
    if (rc == 0) {
        /* All set before it exists: it runs at once, and may touch the list. */
        t->thread = gl__thread_peek();
        link_live(from->home, t);
        t->state = THREAD_LIVE;
        atomic_store(&t->baton, BATON_GO);
        rc = pthread_create(&t->tid, &attr, thread_main, to);
        if (rc != 0) {
            atomic_store(&t->baton, BATON_WAIT);
            t->state = THREAD_NONE;
            unlink_live(t);
        }
    }
    pthread_attr_destroy(&attr);
    return rc;
}

/* Wakes the OS thread of a suspended greenlet only to end it, and joins it. */
static void end_thread(th_ctx *c)
{
    if (c->state != THREAD_LIVE)
        return;
    unlink_live(c);
    if (!c->ended) {
        c->cancel = 1;
        baton_give(c);
    }
    int rc = pthread_join(c->tid, NULL);
    if (rc != 0)
        fatal("pthread_join", rc);
    c->state = THREAD_JOINED;
}

/* Woken with `cancel` set: a suspended greenlet's OS thread ends without running more
 * of its code; the main greenlet's (woken by exited_inside) exits as the greenlet that
 * called pthread_exit() did, with its value. */
__attribute__((noreturn)) static void cancelled(th_ctx *f)
{
    th_ctx *exited = f->exit_from;
    if (!exited)
        longjmp(*exit_point, 1);
    f->exit_from = NULL;
    f->cancel = 0;
    unlink_live(exited);
    void *value;
    int rc = pthread_join(exited->tid, &value);
    if (rc != 0)
        fatal("pthread_join", rc);
    exited->state = THREAD_JOINED;
    pthread_exit(value);
}

/* ---- the port interface ------------------------------------------------------------- */

int gl__port_init_main(gl_greenlet *main)
{
    pthread_once(&exited_inside_once, make_exited_inside_key);
    th_ctx *c = ctx(main);
    c->state = THREAD_LIVE; /* it is the calling thread itself; never joined */
    c->tid = pthread_self(); /* for debuggers only */
    c->home = c;
    c->prev = c->next = c;
    return GL_OK;
}

void gl__port_exit_main(gl_greenlet *main)
{
    th_ctx *home = ctx(main);
    while (home->next != home)
        end_thread(home->next);
}

int gl__port_prepare(gl_greenlet *g, size_t stack_size)
{
    th_ctx *c = ctx(g);
    size_t reserve = thread_reserve();
    if (stack_size > SIZE_MAX - reserve)
        return GL_ENOSTACK;
    int rc = gl__stack_alloc(&c->stack, stack_size + reserve, g);
    if (rc != GL_OK)
        return rc;
    c->prev = c->next = c;
    return GL_OK;
}

void gl__port_switch(gl_greenlet *from, gl_greenlet *to)
{
    th_ctx *f = ctx(from), *t = ctx(to);
    gl__stack_check(&f->stack, from);
    if (t->state != THREAD_NONE) {
        baton_give(t);
    } else {
        int rc = start_thread(f, to);
        if (rc != 0) {
            /* No OS thread to be had: the switch fails with an error in the caller, and
             * `to` stays unstarted. */
            gl__port_switch_refused(from, GL_ENOSTACK, "no OS thread for the greenlet: "
                                    "pthread_create: %s%s", strerror(rc), rc == EAGAIN ?
                                    " (a thread limit: RLIMIT_NPROC, kernel.threads-max, "
                                    "kernel.pid_max or the cgroup's pids.max)" : "");
            return;
        }
    }
    baton_wait(f);
    if (__builtin_expect(f->cancel, 0))
        cancelled(f);
}

void gl__port_switch_final(gl_greenlet *from, gl_greenlet *to)
{
    th_ctx *f = ctx(from), *t = ctx(to);
    int rc;
    gl__stack_check(&f->stack, from);
    unlink_live(f); /* before the baton goes: `to` may release us at once */
    f->ended = 1;
    jmp_buf *out = exit_point;
    if (t->state != THREAD_NONE)
        baton_give(t);
    else if ((rc = start_thread(f, to)) != 0) /* an unstarted parent gets the result */
        fatal("cannot create the OS thread of an unstarted parent a greenlet ended into", rc);
    longjmp(*out, 1); /* to the bottom of thread_main: the thread ends, release joins it */
}

void gl__port_release(gl_greenlet *g)
{
    th_ctx *c = ctx(g);
    end_thread(c);
    gl__stack_free(&c->stack);
}
