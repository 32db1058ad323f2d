#ifndef REVERIE_COPENBLAS_SHIM_H
#define REVERIE_COPENBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extension: set the thread count once, at start-up. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
