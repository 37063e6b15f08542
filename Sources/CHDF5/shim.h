// CHDF5 — parallel HDF5 (MPI-IO driver) for Swift. H5T_NATIVE_*, H5P_* classes and H5F_ACC_* are macros that
// expand to H5open() plus a C global; Swift can neither import them nor touch those globals under Swift 6's
// concurrency checks, so these inline functions return them. Nothing else belongs here.
#include <hdf5.h>

static inline hid_t shim_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t shim_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t shim_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t shim_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t shim_H5P_DATASET_XFER(void) { return H5P_DATASET_XFER; }
static inline hid_t shim_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t shim_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t shim_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t shim_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t shim_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t shim_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t shim_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t shim_H5T_C_S1(void) { return H5T_C_S1; }
static inline unsigned shim_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned shim_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned shim_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned shim_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline hid_t shim_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline size_t shim_H5T_VARIABLE(void) { return H5T_VARIABLE; }
