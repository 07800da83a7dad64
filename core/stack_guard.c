/* stack_guard.c — gl_set_stack_guard: how overflows of greenlets' own stacks are caught
 * (the stacks themselves are mechanism/stack.c's; the port says what it offers). */
#include "internal.h"
#include "stack.h"

int gl_set_stack_guard(gl_stack_guard mode)
{
    unsigned caps = gl__port_info.caps;
    unsigned need = mode == GL_GUARD_PAGE ? GL_CAP_GUARD_PAGE
                    : mode == GL_GUARD_CANARY ? GL_CAP_GUARD_CANARY : 0;
    if (!need)
        return gl__fail(GL_EINVAL, "gl_set_stack_guard: unknown mode %d", (int)mode);
    if (!(caps & need))
        return gl__fail(GL_EINVAL, "gl_set_stack_guard: port %s does not offer %s",
                        gl__port_info.name,
                        mode == GL_GUARD_PAGE ? "guard pages" : "stack canaries");
    gl__stack_set_guard(mode);
    return GL_OK;
}
