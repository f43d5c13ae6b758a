/* The verdicts that name a limit (timeout, oom) say runbox's limit ended
 * the run. Code can send itself the signals and print the text those
 * verdicts were once inferred from, so the core keeps a limit verdict only
 * when it agrees with the limits actually set, and never infers oom from
 * the code's own output: oom comes from the backend's positive evidence
 * (a cgroup OOM kill, Docker's State.OOMKilled). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void rb_result_check_verdict(runbox_result *r)
{
    double cpu_limit = r->limits.cpu_seconds;
    /* SIGXCPU with no CPU limit, or long before it, came from the code. */
    if (r->verdict == RUNBOX_VERDICT_TIMEOUT && r->signal == SIGXCPU &&
        (!(cpu_limit > 0) || (r->cpu_seconds > 0 && r->cpu_seconds < 0.9 * cpu_limit))) {
        r->verdict = RUNBOX_VERDICT_SIGNALED;
        if (cpu_limit > 0)
            snprintf(r->message, sizeof r->message, "killed by SIGXCPU after "
                     "%.2fs of CPU time, before the %gs CPU time limit: the "
                     "code sent it itself", r->cpu_seconds, cpu_limit);
        else
            snprintf(r->message, sizeof r->message, "killed by SIGXCPU with no "
                     "CPU time limit set: the code sent it itself");
    }
    /* A MemoryError under an address-space limit is the code's exception
     * (it may have raised or printed it itself); say what probably caused
     * it without turning it into a verdict runbox cannot prove. */
    if (r->verdict == RUNBOX_VERDICT_ERROR && r->error_name &&
        !strcmp(r->error_name, "MemoryError") &&
        (r->limits_applied & RUNBOX_LIMIT_MEMORY) && !r->message[0])
        snprintf(r->message, sizeof r->message, "MemoryError under the %llu "
                 "byte memory limit: the limit was probably reached (raise "
                 "`memory` if the code needs more)",
                 (unsigned long long)r->limits.memory_bytes);
}
