/* Memory running out while greenlets work: a greenlet's error records are allocated on
 * its first error (core/error.c), so an error can arrive when there is no memory left
 * for them; it must still travel intact. */
#include <stdint.h>
#include "greenlet.h"
#include "suite.h"

/* Takes every small block malloc still has; returns them as a list. */
static void **exhaust_malloc(void)
{
    void **list = NULL, **block;
    while ((block = malloc(256)) != NULL) {
        *block = list;
        list = block;
    }
    return list;
}

static void release_all(void **list)
{
    while (list) {
        void **next = *list;
        free(list);
        list = next;
    }
}

/* Waits; killed, its cleanup gives back the block it holds, then ends with what it got. */
static void *cleanup_gives_memory_back(void *held)
{
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK) {
        free(*(void **)held);
        *(void **)held = NULL;
        return gl_reraise();
    }
    return NULL;
}

CASE(greenlet, greenlet_killed_while_memory_is_exhausted_still_dies_quietly)
{
    if (UNDER_ASAN)
        SKIP("AddressSanitizer reserves terabytes of shadow: an address-space limit breaks it");
    gl_greenlet *g;
    void *held = NULL;
    CHECK_OK(gl_new(&g, cleanup_gives_memory_back, NULL));
    CHECK_OK(gl_switch(g, &held, NULL));
    suite_limit_address_space((size_t)16 << 20);
    held = malloc((size_t)8 << 20); /* mapped on its own: freeing it gives room back */
    CHECK(held != NULL);
    void **all = exhaust_malloc();
    /* GreenletExit arrives with no memory for g's error records; its cleanup frees 8 MiB,
     * so by the time it ends, memory is there again: the error must not get lost. */
    int rc = gl_destroy(g);
    if (rc == GL_ENOTDEAD && held) {
        /* A port that needs memory to switch (stackcopy saves the caller's stack slice)
         * refused the switch: g never ran, and dies once memory is back. */
        CHECK(strstr(gl_last_error()->message, "out of memory") != NULL);
        release_all(all);
        all = NULL;
        rc = gl_destroy(g);
    }
    CHECK_OK(rc);
    CHECK(held == NULL);
    release_all(all);
    suite_restore_address_space();
}

static void *raise_after_switch(void *arg)
{
    (void)arg;
    if (gl_switch(gl_main(), NULL, NULL) != GL_OK)
        return gl_reraise();
    return gl_raise(GL_EUSER + 7, NULL, "raised with memory exhausted");
}

CASE(greenlet, error_raised_while_memory_is_exhausted_reaches_the_parent)
{
    if (UNDER_ASAN)
        SKIP("AddressSanitizer reserves terabytes of shadow: an address-space limit breaks it");
    gl_greenlet *g;
    CHECK_OK(gl_new(&g, raise_after_switch, NULL));
    CHECK_OK(gl_switch(g, NULL, NULL));
    suite_limit_address_space((size_t)16 << 20);
    void **all = exhaust_malloc();
    CHECK_INT(gl_switch(g, NULL, NULL), GL_EUSER + 7);
    CHECK_INT(gl_last_error()->code, GL_EUSER + 7);
    CHECK(gl_dead(g));
    release_all(all);
    suite_restore_address_space();
    CHECK_OK(gl_destroy(g));
}
