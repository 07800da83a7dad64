/* main_port.c — the benchmark binary of one port: every case, registered under the name
 * of the port it is linked with (harness/build.mk links one binary per port). */
#include "bench.h"
#include "cases.h"

int main(int argc, char **argv)
{
    int rc = bench_init(argc, argv);
    if (rc)
        return rc;
    bench_cases_switch();
    bench_cases_lifecycle();
    bench_cases_memory();
    bench_cases_ring();
    bench_cases_hub(); /* case_hub.c, or case_hub_none.c without the hub */
    return bench_run();
}
