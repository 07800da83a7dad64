/* greenlet_order.c — greenlet's classic example: two greenlets switch to each other.
 * Prints 12, 56, 34: test2 never gets back to print 78, because test1 finishes first
 * and its result goes to main (its parent). */
#include <stdio.h>
#include "greenlet.h"

static gl_greenlet *gr1, *gr2;

static void *test1(void *arg)
{
    (void)arg;
    printf("12\n");
    gl_switch(gr2, NULL, NULL);
    printf("34\n");
    return NULL;
}

static void *test2(void *arg)
{
    (void)arg;
    printf("56\n");
    if (gl_switch(gr1, NULL, NULL) != GL_OK)
        return gl_reraise(); /* GreenletExit from gl_destroy(): 78 is never printed */
    printf("78\n");
    return NULL;
}

int main(void)
{
    if (gl_new(&gr1, test1, NULL) != GL_OK || gl_new(&gr2, test2, NULL) != GL_OK) {
        fprintf(stderr, "greenlet_order: %s\n", gl_last_error()->message);
        return 1;
    }
    int rc = gl_switch(gr1, NULL, NULL);
    gl_destroy(gr1);
    gl_destroy(gr2); /* suspended: GreenletExit is raised inside it */
    return rc == GL_OK ? 0 : 1;
}
