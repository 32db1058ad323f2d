#ifndef REVERIE_COPENBLAS_SHIM_H
#define REVERIE_COPENBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extension: set the thread count once, at start-up. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* The name of the kernel set OpenBLAS chose for this CPU ("SkylakeX", "Haswell", "Prescott", ...). */
char *openblas_get_corename(void);
#endif
