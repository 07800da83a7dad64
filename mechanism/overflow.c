/* overflow.c — names a stack overflow instead of a bare SIGSEGV: when a fault hits the
 * guard below the running greenlet's stack (an unmapped gap: mechanism/stack.h), print
 * which greenlet overflowed, then let the default action end the process. Installed
 * only when the program has no SIGSEGV handler of its own (AddressSanitizer has one,
 * and reports overflows itself). Also the report of a broken canary (GL_GUARD_CANARY). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdint.h>
#include "overflow.h"
#include "port.h"

static atomic_int installed; /* 0 no, 1 ours, -1 someone else's handler: leave it */

static void write_str(const char *s) { ssize_t r = write(2, s, strlen(s)); (void)r; }

static void write_hex(uintptr_t v)
{
    char buf[2 + 16 + 1];
    int i = sizeof buf - 1;
    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && i > 2);
    buf[--i] = 'x';
    buf[--i] = '0';
    write_str(buf + i);
}

/* "switchyard: stack overflow in greenlet <g><what><where><why>" on stderr. */
static void report(const void *g, const char *what, const void *where, const char *why)
{
    write_str("switchyard: stack overflow in greenlet ");
    write_hex((uintptr_t)g);
    write_str(what);
    write_hex((uintptr_t)where);
    write_str(why);
}

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    char *addr = info->si_addr;
    void *lo, *hi;
    gl_greenlet *g = gl__running_guard(&lo, &hi);
    if (g && lo && addr >= (char *)lo && addr < (char *)hi)
        report(g, ": fault at ", addr, " in the guard gap below its stack (stack size too "
               "small: see gl_new_with_stack / gl_set_default_stack_size)\n");
    /* Re-raise with the default action: the same fault recurs and ends the process. */
    signal(sig, SIG_DFL);
}

void *gl__overflow_reporter_install(void)
{
    int state = atomic_load(&installed);
    if (state == 0) {
        struct sigaction old;
        if (sigaction(SIGSEGV, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
            old.sa_handler == SIG_DFL) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_sigaction = on_segv;
            sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
            sigemptyset(&sa.sa_mask);
            int expected = 0;
            if (atomic_compare_exchange_strong(&installed, &expected, 1))
                sigaction(SIGSEGV, &sa, NULL);
        } else {
            int expected = 0;
            atomic_compare_exchange_strong(&installed, &expected, -1);
        }
        state = atomic_load(&installed);
    }
    if (state != 1)
        return NULL;
    /* The handler must run on a stack of its own: the faulting one is exhausted. */
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
        return NULL; /* the program already gave this thread a signal stack */
    size_t size = 64 * 1024;
    void *mem = malloc(size);
    if (!mem)
        return NULL;
    stack_t ss = {.ss_sp = mem, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) == 0)
        return mem;
    free(mem);
    return NULL;
}

void gl__overflow_reporter_remove(void *altstack)
{
    if (!altstack)
        return;
    stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(altstack);
}

void gl__overflow_canary(struct gl_greenlet *g, const void *canary)
{
    report(g, ": the canary at the bottom of its stack (", canary, ") was overwritten; found "
           "as it switched away (GL_GUARD_CANARY: stack size too small: see "
           "gl_new_with_stack / gl_set_default_stack_size)\n");
    abort();
}
