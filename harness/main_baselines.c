/* main_baselines.c — the reference baselines, one binary for all ports: the raw
 * mechanisms without greenlets, so that each port's figure is also a ratio. */
#include "bench.h"
#include "cases.h"

int main(int argc, char **argv)
{
    int rc = bench_init(argc, argv);
    if (rc)
        return rc;
    bench_baselines_switch();
    return bench_run();
}
