/* Misuse gets a clear error code and message, never undefined behaviour; resource
 * exhaustion is an error, not a crash; a stack overflow is named. */
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "greenlet.h"
#include "suite.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

enum { EXIT_NO_UNPRIVILEGED_USER = 42 };

static void *ran(void *arg)
{
    LOG("ran");
    return arg;
}

CASE(greenlet, null_arguments_are_refused_with_einval)
{
    gl_greenlet *g;
    CHECK_INT(gl_new(NULL, ran, NULL), GL_EINVAL);
    CHECK_INT(gl_switch(NULL, NULL, NULL), GL_EINVAL);
    CHECK(strstr(gl_last_error()->message, "NULL") != NULL);
    CHECK_INT(gl_throw(NULL, GL_EUSER, NULL, NULL), GL_EINVAL);
    CHECK_INT(gl_destroy(NULL), GL_EINVAL);
    CHECK_INT(gl_set_run(NULL, ran), GL_EINVAL);
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_INT(gl_set_parent(g, NULL), GL_EINVAL);
    CHECK_INT(gl_set_parent(NULL, g), GL_EINVAL);
    CHECK_PTR(gl_parent(g), gl_main());
    CHECK(!gl_started(NULL) && !gl_active(NULL) && !gl_dead(NULL));
    CHECK_OK(gl_destroy(g));
    CHECK_LOG("");
}

static void *destroy_self(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)gl_destroy(gl_current());
}

CASE(greenlet, destroying_the_running_greenlet_is_refused)
{
    gl_greenlet *g;
    void *r;
    CHECK_OK(gl_new(&g, destroy_self, NULL));
    CHECK_OK(gl_switch(g, NULL, &r));
    CHECK_INT((intptr_t)r, GL_EBUSY);
    CHECK_OK(gl_destroy(g));
}

CASE(greenlet, destroying_a_main_greenlet_is_refused)
{
    CHECK_INT(gl_destroy(gl_main()), GL_EMAIN);
    CHECK(gl_active(gl_main()));
    CHECK_PTR(gl_current(), gl_main());
}

CASE(greenlet, stack_size_outside_the_port_limits_is_refused)
{
    const gl_port_info *p = gl_port();
    gl_greenlet *g = (gl_greenlet *)&g;
    if (p->min_stack_size == 0 && p->max_stack_size == 0)
        SKIP("the port accepts every stack size (its stacks are not fixed)");
    if (p->min_stack_size > 1) {
        CHECK_INT(gl_new_with_stack(&g, ran, NULL, p->min_stack_size - 1), GL_ESTACKSIZE);
        CHECK_PTR(g, NULL);
        CHECK(strstr(gl_last_error()->message, "stack size") != NULL);
    }
    if (p->max_stack_size) {
        CHECK_INT(gl_new_with_stack(&g, ran, NULL, p->max_stack_size + 1), GL_ESTACKSIZE);
        CHECK_INT(gl_new_with_stack(&g, ran, NULL, SIZE_MAX), GL_ESTACKSIZE);
    }
    CHECK_OK(gl_new_with_stack(&g, ran, NULL, p->min_stack_size ? p->min_stack_size : 4096));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_OK(gl_destroy(g));
    CHECK_LOG("ran");
}

CASE(greenlet, default_stack_size_can_be_changed_within_limits)
{
    const gl_port_info *p = gl_port();
    CHECK_INT(gl_default_stack_size(), p->default_stack_size);
    size_t want = p->min_stack_size > 64 * 1024 ? p->min_stack_size : 64 * 1024;
    CHECK_OK(gl_set_default_stack_size(want));
    CHECK_INT(gl_default_stack_size(), want);
    if (p->min_stack_size > 1) {
        CHECK_INT(gl_set_default_stack_size(p->min_stack_size - 1), GL_ESTACKSIZE);
        CHECK_INT(gl_default_stack_size(), want); /* unchanged */
    }
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, ran, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    CHECK_OK(gl_destroy(g));
    CHECK_LOG("ran");
}

CASE(greenlet, every_error_code_has_a_readable_name)
{
    for (int code = GL_EEXIT; code <= GL_EDESTROYING; code++) {
        const char *name = gl_strerror(code);
        CHECK(name != NULL && strlen(name) > 3);
        CHECK(strcmp(name, "unknown error") != 0);
    }
    CHECK_STR(gl_strerror(GL_EUSER + 5), "user error");
    CHECK_STR(gl_strerror(-1), "unknown error");
}

static void *wait_then_return_arg(void *arg)
{
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK)
        return gl_reraise();
    return arg;
}

CASE(greenlet, running_out_of_memory_or_stacks_is_an_error_not_a_crash)
{
    if (UNDER_ASAN)
        SKIP("AddressSanitizer reserves terabytes of shadow: an address-space limit breaks it");
    suite_limit_address_space((size_t)256 << 20);

    enum { CAP = 4 * 1000 * 1000 };
    gl_greenlet **gs = malloc(CAP * sizeof *gs);
    CHECK(gs != NULL);
    int n = 0, rc = GL_OK;
    while (n < CAP) {
        rc = gl_new(&gs[n], wait_then_return_arg, NULL);
        if (rc != GL_OK)
            break;
        if (n % 64 == 0 && (rc = gl_switch(gs[n], (void *)(intptr_t)n, NULL)) != GL_OK) {
            gl_destroy(gs[n]);
            break;
        }
        n++;
    }
    CHECK(n > 0);
    CHECK(n < CAP); /* 256 MiB cannot hold 4 million greenlets on any port */
    CHECK(rc == GL_ENOMEM || rc == GL_ENOSTACK);
    CHECK_INT(gl_live_count(), n); /* a refused gl_new leaves nothing behind */
    /* the greenlets made before the refusal still work */
    for (int i = 0; i < n; i++) {
        void *r;
        if (i % 64 == 0) {
            CHECK_OK(gl_switch(gs[i], NULL, &r));
            CHECK_INT((intptr_t)r, i);
        }
        CHECK_OK(gl_destroy(gs[i]));
    }
    CHECK_INT(gl_live_count(), 0);
    free(gs);
}

/* A port that gives each greenlet an OS thread creates it at the first switch; a
 * thread limit there (pthread_create: EAGAIN) is "no stack/thread could be had",
 * named as a limit, and loses nothing: the greenlet stays unstarted, and starts once a
 * thread can be had. Ports that need no thread just run it. RLIMIT_NPROC binds only
 * a user other than root: a root run drops to nobody first (in a child process). */
CASE(greenlet, thread_limit_at_a_first_switch_is_enostack_and_the_greenlet_stays_unstarted)
{
    gl_current(); /* this thread's state exists before the limits change */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0) {
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
                _exit(EXIT_NO_UNPRIVILEGED_USER);
            prctl(PR_SET_DUMPABLE, 1); /* keeps /proc/self readable (sanitizers read it) */
        }
        struct rlimit old, one;
        CHECK_INT(getrlimit(RLIMIT_NPROC, &old), 0);
        one = (struct rlimit){1, old.rlim_max}; /* this process already counts as one */
        CHECK_INT(setrlimit(RLIMIT_NPROC, &one), 0);
        gl_greenlet *g;
        CHECK_OK(gl_new(&g, ran, NULL));
        int rc = gl_switch(g, NULL, NULL);
        if (rc != GL_OK) {
            CHECK_INT(rc, GL_ENOSTACK);
            if (!strstr(gl_last_error()->message, "thread limit"))
                suite_fail(__FILE__, __LINE__, "message: %s", gl_last_error()->message);
            CHECK(!gl_started(g));
            CHECK_LOG("");
            CHECK_INT(setrlimit(RLIMIT_NPROC, &old), 0);
            CHECK_OK(gl_switch(g, NULL, NULL));
        }
        CHECK_LOG("ran");
        CHECK_OK(gl_destroy(g));
        _exit(0);
    }
    int status;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) == EXIT_NO_UNPRIVILEGED_USER)
        SKIP("running as root without the right to become nobody: RLIMIT_NPROC cannot bind");
    CHECK_INT(WEXITSTATUS(status), 0);
}

static volatile int keep_going = 1; /* opaque to the compiler: the recursion is real */

static int recurse_forever(int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    if (!keep_going)
        return 0;
    return recurse_forever(depth + 1) + frame[0];
}

static void *overflow(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)recurse_forever(0);
}

/* Runs `fn` in a greenlet on the port's smallest stack, in a child process; fails the
 * case unless the child dies of SIGSEGV with the overflow reporter's message. */
static void expect_overflow_report(gl_run_fn fn)
{
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        gl_greenlet *g, *neighbour;
        size_t size = gl_port()->min_stack_size ? gl_port()->min_stack_size : 65536;
        if (gl_new_with_stack(&g, fn, NULL, size) != GL_OK)
            _exit(3);
        /* A stack mapped next to it, where an unprobed large frame would land. */
        if (gl_new_with_stack(&neighbour, fn, NULL, 2 << 20) != GL_OK)
            _exit(3);
        gl_switch(g, NULL, NULL);
        _exit(4); /* not reached */
    }
    close(fds[1]);
    char out[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
    close(fds[0]);
    int status;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV)
        suite_fail(__FILE__, __LINE__, "the greenlet did not die of SIGSEGV (%s %d); stderr "
                   "was: %s", WIFSIGNALED(status) ? "signal" : "exit status",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), out);
    if (!strstr(out, "stack overflow in greenlet"))
        suite_fail(__FILE__, __LINE__, "no overflow report; stderr was: %s", out);
}

static void skip_unless_guarded_stacks(void)
{
    if (UNDER_ASAN)
        SKIP("AddressSanitizer reports stack overflows itself");
    if (!gl_port()->separate_stacks)
        SKIP("greenlets run on the thread's own stack (the kernel's guard applies)");
}

CASE(greenlet, stack_overflow_in_a_greenlet_is_reported_as_such)
{
    skip_unless_guarded_stacks();
    expect_overflow_report(overflow);
}

/* An opaque call: the writes are real. */
static __attribute__((noinline)) void fill(volatile char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)i;
}

/* A 256 KiB frame of which only the lowest KiB is used (a buffer sized for the worst
 * case): unprobed, those writes land far below a smallest stack (16 KiB, plus the
 * threads port's reserve for glibc: 32 KiB on x86-64, 144 KiB on AArch64), in the
 * neighbour. */
static void *one_large_frame(void *arg)
{
    volatile char frame[256 * 1024];
    fill(frame, 1024);
    return (void *)(intptr_t)frame[(intptr_t)arg & 1];
}

/* A frame far larger than the guard page would skip it and land in whatever lies below
 * (another greenlet's stack): built with -fstack-clash-protection, every page of a
 * large frame is touched in order, so the guard page is hit and the overflow named. */
CASE(greenlet, frame_larger_than_the_guard_page_is_reported_as_a_stack_overflow)
{
    skip_unless_guarded_stacks();
    expect_overflow_report(one_large_frame);
}
