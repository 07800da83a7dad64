/* case_hub_none.c — stands in for case_hub.c while the tree has no hub (include/hub.h):
 * the port binaries then run the greenlet cases only. */
#include "cases.h"

void bench_cases_hub(void) {}
