/* gpu.c - GPUs the local executor can hand to learners: NVIDIA devices seen as
 * /dev/nvidia0, /dev/nvidia1, ... (the driver's device nodes). A learner with
 * `gpus: N` gets CUDA_VISIBLE_DEVICES=0..N-1. Not yet exclusive between jobs:
 * GPU scheduling comes with the distributed-training work. No GPU is present on
 * the machines this is tested on, so only the count of 0 is exercised there. */
#include "exec/exec.h"
#include <ctype.h>
#include <dirent.h>
#include <string.h>

int gpu_count(void)
{
	DIR *d = opendir("/dev");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		if (strncmp(s, "nvidia", 6) != 0 || !s[6])
			continue;
		s += 6;
		while (isdigit((unsigned char)*s))
			s++;
		if (!*s)
			n++;
	}
	closedir(d);
	return n;
}
