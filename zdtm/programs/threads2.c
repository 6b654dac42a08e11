/* threads2: a second thread; each thread keeps its tid and its own counter through the dump. */
#define NTHREADS 2
#include "threads.h"
