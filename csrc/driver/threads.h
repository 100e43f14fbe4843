/* How many OpenMP threads a call gets. */
#ifndef FSS_THREADS_H
#define FSS_THREADS_H
#include <stdint.h>

/* Below this many elements per thread a team costs more than it saves. */
#define FSS_MIN_ELEMS_PER_THREAD 32768

/* Threads for `work` elements split into at most `units` independent pieces:
 * never more than requested (or the OpenMP default when requested <= 0),
 * never more than the work justifies; 1 means "run serially, start no team". */
/* Long rows split across threads (fewer rows than threads): each chunk of a
 * row has at least this many elements (float32 driver and float16 driver). */
#define FSS_SPLIT_MIN_CHUNK 8192

int fss_threads_for(int64_t work, int64_t units, int requested);

#endif
