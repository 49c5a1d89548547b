/* stamp.c - the learner command of the start-latency benchmark: its first act
 * is to read CLOCK_REALTIME, which it then writes (nanoseconds, one line) to
 * DIR/$TRAINING_ID, atomically (temp file + rename) so a reader never sees a
 * partial number. "The learner process started" means exactly this moment.
 * usage: stamp DIR   (TRAINING_ID must be set) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	const char *id = getenv("TRAINING_ID");
	if (argc != 2 || !id || !*id || strchr(id, '/')) {
		fprintf(stderr, "usage: TRAINING_ID=NAME stamp DIR\n");
		return 2;
	}
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/%s", argv[1], id);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", argv[1], id);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		return 1;
	}
	fprintf(f, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}
