#!/usr/bin/env bash
# resources.sh - resource requests the local executor cannot meet are refused at
# submission with FfDL's C104 and a message naming the field, instead of leaving a job
# PENDING forever (FfDL issue #101); learners see GPU_COUNT and, with GPUs,
# CUDA_VISIBLE_DEVICES.
. "$(dirname "$0")/../lib.sh"
start_server
seed_bucket tdata

have=$(ls /dev 2>/dev/null | grep -cE '^nvidia[0-9]+$')
want=$((have + 1))
submit "$(manifest toomany 'echo hi' "gpus: $want")"
check_status "more GPUs than the machine has: 400" 400
check_json "error_code C104" '.error_code' C104
check_match "the message names gpus and both counts" "gpus: $want GPUs? per learner requested, but this server has $have" "$(jbody .description)"

submit "$(manifest gpuenv 'echo "GPU_COUNT=$GPU_COUNT CUDA=${CUDA_VISIBLE_DEVICES-unset}"' "gpus: 0")"
check_status "gpus: 0 accepted" 201
wait_status "$JOB_ID" COMPLETED 30
check_eq "gpus: 0 gives GPU_COUNT=0 and no CUDA_VISIBLE_DEVICES" "GPU_COUNT=0 CUDA=unset" "$(loglines "$JOB_ID")"
done_testing
