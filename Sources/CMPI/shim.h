// CMPI — Open MPI for Swift. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros over
// incomplete struct globals that Swift cannot import; these inline functions return them. _Nonnull makes Swift
// see non-optional handle types. Nothing else belongs here.
#include <mpi.h>

static inline MPI_Comm _Nonnull shim_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm _Nonnull shim_MPI_COMM_SELF(void) { return MPI_COMM_SELF; }
static inline MPI_Comm _Nonnull shim_MPI_COMM_NULL(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype _Nonnull shim_MPI_FLOAT(void) { return MPI_FLOAT; }
static inline MPI_Datatype _Nonnull shim_MPI_DOUBLE(void) { return MPI_DOUBLE; }
static inline MPI_Datatype _Nonnull shim_MPI_INT(void) { return MPI_INT; }
static inline MPI_Datatype _Nonnull shim_MPI_INT64(void) { return MPI_INT64_T; }
static inline MPI_Datatype _Nonnull shim_MPI_UINT64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype _Nonnull shim_MPI_BYTE(void) { return MPI_BYTE; }
static inline MPI_Op _Nonnull shim_MPI_SUM(void) { return MPI_SUM; }
static inline MPI_Op _Nonnull shim_MPI_MAX(void) { return MPI_MAX; }
static inline MPI_Op _Nonnull shim_MPI_MIN(void) { return MPI_MIN; }
static inline MPI_Op _Nonnull shim_MPI_BXOR(void) { return MPI_BXOR; }
static inline MPI_Info _Nonnull shim_MPI_INFO_NULL(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler _Nonnull shim_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request _Nonnull shim_MPI_REQUEST_NULL(void) { return MPI_REQUEST_NULL; }
static inline void * _Nonnull shim_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }
static inline MPI_Status * _Nullable shim_MPI_STATUS_IGNORE(void) { return MPI_STATUS_IGNORE; }
