/* Misuse gets a clear error code and message, never undefined behaviour; resource
 * exhaustion is an error, not a crash; a stack overflow is named. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
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
    for (int code = GL_EEXIT; code <= GL_ETRACE; code++) {
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
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f && fscanf(f, "%ld %ld", &pages, &rss) == 2);
    fclose(f);
    rlim_t limit = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)256 << 20);
    struct rlimit rl = {limit, limit};
    CHECK_INT(setrlimit(RLIMIT_AS, &rl), 0);
    /* The limit must hold for what follows to mean anything: qemu-user accepts the
     * call and ignores it (it would bind the emulator), so an address-space reservation
     * far past it still succeeds there. */
    void *probe = mmap(NULL, (size_t)1 << 30, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe != MAP_FAILED) {
        munmap(probe, (size_t)1 << 30);
        SKIP("RLIMIT_AS is not enforced here (under qemu-user the emulator ignores it, "
             "and the process's memory maps are shared with the emulator's own)");
    }

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

CASE(greenlet, stack_overflow_in_a_greenlet_is_reported_as_such)
{
    if (UNDER_ASAN)
        SKIP("AddressSanitizer reports stack overflows itself");
    if (!gl_port()->separate_stacks)
        SKIP("greenlets run on the thread's own stack (the kernel's guard applies)");
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        gl_greenlet *g;
        size_t size = gl_port()->min_stack_size ? gl_port()->min_stack_size : 65536;
        if (gl_new_with_stack(&g, overflow, NULL, size) != GL_OK)
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
    CHECK(WIFSIGNALED(status));
    CHECK_INT(WTERMSIG(status), SIGSEGV);
    if (!strstr(out, "stack overflow in greenlet"))
        suite_fail(__FILE__, __LINE__, "no overflow report; stderr was: %s", out);
}
