// CZlib — zlib, for reading gzipped IDX files. No API of Descent's own.
#include <zlib.h>
