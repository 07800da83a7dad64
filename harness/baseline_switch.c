/*
 * baseline_switch.c — the raw mechanisms under the ports, with no greenlet bookkeeping,
 * so that every port's switch is also a ratio. One iteration = one switch.
 *
 *   baseline_regswap         mechanism/arch's gl__ctx_switch between the thread's stack and
 *                            one other stack (the floor for asm_separate)
 *   baseline_swapcontext     glibc swapcontext between two contexts (floor for ucontext)
 *   baseline_thread_handoff  a futex baton passed between two threads (floor for threads)
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "bench.h"
#include "cases.h"
#include "stack.h"
#include "switch.h"

#define BATCH 1000
#define STACK_SIZE (64 * 1024)

/* ---- register swap ----------------------------------------------------------------- */

/* Both sides run the same loop, so every switch leaves from and arrives at the same
 * call site: whatever return prediction the routine relies on (a `ret`, or a pop and an
 * indirect jump) sees the best case. This is the floor, not a strawman. */
typedef struct regswap {
    void *main_sp, *other_sp;
    long left; /* switches left in this batch */
} regswap;

__attribute__((noinline)) static void regswap_loop(void **self_sp, void **peer_sp, long *left)
{
    while (*left > 0) {
        --*left;
        gl__ctx_switch(self_sp, *peer_sp, NULL);
    }
}

static void regswap_other(void *arg)
{
    regswap *r = arg;
    for (;;) { /* main ends each batch on its turn (an even batch): nothing uncounted */
        regswap_loop(&r->other_sp, &r->main_sp, &r->left);
        gl__ctx_switch(&r->other_sp, r->main_sp, NULL);
    }
}

static void baseline_regswap(bench_state *st, void *arg)
{
    (void)arg;
    char *stack = malloc(STACK_SIZE);
    if (!stack) {
        bench_fail(st, "out of memory");
        return;
    }
    regswap r = {0};
    r.other_sp = gl__ctx_make(stack + STACK_SIZE, regswap_other, &r);
    while (bench_keep_running_batch(st, BATCH)) {
        r.left = BATCH;
        regswap_loop(&r.main_sp, &r.other_sp, &r.left);
    }
    free(stack); /* the other side is parked in its loop; nothing on it to unwind */
}

/* ---- swapcontext ------------------------------------------------------------------- */

static ucontext_t uc_main, uc_other;

static void swapcontext_other(void)
{
    for (;;)
        swapcontext(&uc_other, &uc_main);
}

static void baseline_swapcontext(bench_state *st, void *arg)
{
    (void)arg;
    char *stack = malloc(STACK_SIZE);
    if (!stack || getcontext(&uc_other) != 0) {
        bench_fail(st, "cannot set up a context");
        free(stack);
        return;
    }
    uc_other.uc_stack.ss_sp = stack;
    uc_other.uc_stack.ss_size = STACK_SIZE;
    uc_other.uc_link = NULL;
    makecontext(&uc_other, swapcontext_other, 0);
    while (bench_keep_running_batch(st, BATCH))
        for (int i = 0; i < BATCH / 2; i++)
            swapcontext(&uc_main, &uc_other);
    free(stack);
}

/* ---- futex hand-off ------------------------------------------------------------------ */

/* One baton word per side, three states (Drepper's futex mutex, as the threads port
 * does): the giver makes the wake-up system call only when the receiver sleeps. */
enum { TURN_WAIT = 0, TURN_GO = 1, TURN_SLEEPING = 2 };

typedef struct handoff {
    _Alignas(64) atomic_int main_turn;
    _Alignas(64) atomic_int other_turn;
    atomic_int stop;
} handoff;

static void futex_wait(atomic_int *word)
{
    for (;;) {
        int v = TURN_GO;
        if (atomic_compare_exchange_strong(word, &v, TURN_WAIT))
            return;
        if (v == TURN_WAIT && !atomic_compare_exchange_strong(word, &v, TURN_SLEEPING))
            continue; /* it arrived meanwhile */
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, TURN_SLEEPING, NULL, NULL, 0);
    }
}

static void futex_pass(atomic_int *word)
{
    if (atomic_exchange(word, TURN_GO) == TURN_SLEEPING)
        syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *handoff_other(void *arg)
{
    handoff *h = arg;
    for (;;) {
        futex_wait(&h->other_turn);
        if (atomic_load(&h->stop))
            return NULL;
        futex_pass(&h->main_turn);
    }
}

static void baseline_thread_handoff(bench_state *st, void *arg)
{
    (void)arg;
    handoff h = {0};
    pthread_t other;
    if (pthread_create(&other, NULL, handoff_other, &h) != 0) {
        bench_fail(st, "pthread_create failed");
        return;
    }
    while (bench_keep_running_batch(st, BATCH))
        for (int i = 0; i < BATCH / 2; i++) {
            futex_pass(&h.other_turn);
            futex_wait(&h.main_turn);
        }
    atomic_store(&h.stop, 1);
    futex_pass(&h.other_turn);
    pthread_join(other, NULL);
}

void bench_baselines_switch(void)
{
    bench_use_real_time(bench_register(baseline_regswap, NULL, "baseline_regswap"));
    bench_use_real_time(bench_register(baseline_swapcontext, NULL, "baseline_swapcontext"));
    bench_use_real_time(bench_register(baseline_thread_handoff, NULL, "baseline_thread_handoff"));
}
