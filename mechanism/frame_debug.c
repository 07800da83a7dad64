/* frame_debug.c — the frame mechanism/arch/switch_<arch>_<abi>.S saves, as a debugger
 * reads it (gl__debug_reg, core/port.h): each register's slot from the saved stack
 * pointer, and the stack pointer the frame's caller had (above the frame). The same
 * offsets as the drawing at the top of the .S file; tools/gdb/check.sh backtraces
 * suspended greenlets with them. Integer registers only: a backtrace needs no more. */
#include "switch.h"

const gl__debug_reg gl__ctx_frame_regs[] = {
#if defined(__x86_64__)
    {"r12", 0x08, 0}, {"r13", 0x10, 0}, {"r14", 0x18, 0}, {"r15", 0x20, 0},
    {"rbx", 0x28, 0}, {"rbp", 0x30, 0}, {"rip", 0x38, 0}, {"rsp", 0x40, 1},
#elif defined(__aarch64__)
    {"x19", 0x40, 0}, {"x20", 0x48, 0}, {"x21", 0x50, 0}, {"x22", 0x58, 0},
    {"x23", 0x60, 0}, {"x24", 0x68, 0}, {"x25", 0x70, 0}, {"x26", 0x78, 0},
    {"x27", 0x80, 0}, {"x28", 0x88, 0}, {"x29", 0x90, 0}, {"x30", 0x98, 0},
    {"pc", 0x98, 0},  {"sp", 0xb0, 1},
#else
#error "describe the saved frame of this architecture's switch"
#endif
    {NULL, 0, 0},
};
