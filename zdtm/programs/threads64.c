/* threads64: 64 threads; each keeps its tid and its own counter through the dump. */
#define NTHREADS 64
#include "threads.h"
