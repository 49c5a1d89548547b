/* lcm.h - the lifecycle manager: one thread that reconciles every active job
 * with its learners. Each pass derives what to do from the job's row and the
 * learners' control files alone, so the same code that runs a job also
 * recovers it after the server was killed (see docs/recovery.md). */
#ifndef WEFT_LCM_H
#define WEFT_LCM_H
#include "trainer/trainer.h"

int lcm_start(struct trainer *t, struct weft_err *e);
void lcm_stop(struct trainer *t);
/* One reconcile pass over all jobs (the thread calls this; tests may too). */
void lcm_pass(struct trainer *t);

#endif
