/* cases.h — the registration function of each group of cases (harness/case_*.c). The
 * port binary calls them all; each registers its cases under the port's name. */
#ifndef BENCH_CASES_H
#define BENCH_CASES_H

void bench_cases_switch(void);    /* switch, switch_depth */
void bench_cases_lifecycle(void); /* lifecycle */
void bench_cases_memory(void);    /* memory, max_greenlets */
void bench_cases_hub(void);       /* hub_sleep0, hub_timers (only with the hub) */

void bench_baselines_switch(void); /* baseline_regswap, _swapcontext, _thread_handoff */

#endif /* BENCH_CASES_H */
