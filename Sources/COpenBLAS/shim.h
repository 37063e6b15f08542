// COpenBLAS — OpenBLAS's CBLAS interface and thread control (openblas_set_num_threads). No API of Descent's own.
#include <cblas.h>
