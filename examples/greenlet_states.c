/* greenlet_states.c — greenlets in every state at once, for a debugger to look at.
 *
 *   producer   suspended four calls deep in produce()
 *   consumer   unstarted, then running (it stops in states_checkpoint too)
 *   finished   dead, still held by main
 *
 * main stops in states_checkpoint("main") with the others suspended, unstarted and
 * dead, then runs consumer, which stops in states_checkpoint("consumer") with main
 * suspended. Under gdb (README, "Debugging"):
 *
 *   gdb -ex 'break states_checkpoint' -ex run -ex 'info greenlets' -ex 'greenlet bt 2' \
 *       build/release/bin/examples/greenlet_states_asm_separate
 *
 * Run on its own it prints what it did and the live count before and after cleanup. */
#include <stdio.h>
#include "greenlet.h"

static gl_greenlet *producer, *consumer, *finished;

/* Where a debugger stops (break states_checkpoint). */
__attribute__((noinline)) void states_checkpoint(const char *where)
{
    printf("checkpoint in %s: %zu greenlets live\n", where, gl_live_count());
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) int produce(int depth)
{
    if (depth == 0) {
        int rc = gl_switch(gl_main(), NULL, NULL); /* suspended here, 4 calls deep */
        return rc == GL_OK ? 0 : -1;
    }
    int below = produce(depth - 1);
    __asm__ volatile("" ::: "memory"); /* a real call, not a jump: each level a frame */
    return below + 1;
}

static void *producer_run(void *arg)
{
    (void)arg;
    int levels = produce(3);
    return levels < 0 ? gl_reraise() : NULL;
}

static void *consumer_run(void *arg)
{
    states_checkpoint("consumer");
    return arg;
}

static void *finished_run(void *arg) { return arg; }

int main(void)
{
    if (gl_new(&producer, producer_run, NULL) != GL_OK ||
        gl_new(&consumer, consumer_run, NULL) != GL_OK ||
        gl_new(&finished, finished_run, NULL) != GL_OK) {
        fprintf(stderr, "greenlet_states: %s\n", gl_last_error()->message);
        return 1;
    }
    gl_switch(finished, NULL, NULL); /* runs to its end: dead */
    gl_switch(producer, NULL, NULL); /* suspends deep inside produce() */
    states_checkpoint("main");
    gl_switch(consumer, NULL, NULL);
    int rc = gl_destroy(producer);   /* GreenletExit unwinds produce() */
    gl_destroy(consumer);
    gl_destroy(finished);
    printf("after cleanup: %zu greenlets live%s\n", gl_live_count(),
           rc == GL_OK ? "" : " (producer ended with an error)");
    return gl_live_count() == 0 && rc == GL_OK ? 0 : 1;
}
