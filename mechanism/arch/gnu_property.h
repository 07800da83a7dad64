/*
 * gnu_property.h — the GNU property note of a switch file (included by the .S files of
 * this folder). The linker keeps a property in a program only if every object it links
 * carries it, so an assembly file without this note would drop a program's IBT (x86-64)
 * or BTI/PAC (AArch64) marking.
 *   GNU_PROPERTY_NOTE type, value    type: GNU_PROPERTY_X86_FEATURE_1_AND (0xc0000002)
 *                                    or GNU_PROPERTY_AARCH64_FEATURE_1_AND (0xc0000000)
 */
.macro GNU_PROPERTY_NOTE type, value
    .pushsection .note.gnu.property, "a"
    .p2align 3
    .long   4                         /* name size */
    .long   16                        /* descriptor size */
    .long   5                         /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   \type
    .long   4
    .long   \value
    .p2align 3
    .popsection
.endm
