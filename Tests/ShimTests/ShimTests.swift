// ShimTests.swift — the system-library shims link and work: Open MPI (singleton init, in-place allreduce), parallel
// HDF5 (an MPI-IO file access list), zlib and OpenBLAS. All MPI in one serialized test: MPI_Init once per process.
// It holds HDF5's lock, like every HDF5 user in this process (other suites write HDF5 files at the same time): the
// library is not thread-safe, and the orted that the singleton MPI_Init forks must not start while another suite's
// file is being opened, before it is marked close-on-exec (the copy would keep the file's lock).
import Testing
import CMPI
import CHDF5
import HDF5
import CZlib
import COpenBLAS

@Suite("System-library shims", .serialized)
struct ShimTests {
    @Test("MPI singleton, MPI-IO HDF5 file access, zlib, OpenBLAS") func shims() {
        HDF5Library.locked { mpiAndHDF5() }
        #expect(String(cString: zlibVersion()).hasPrefix("1."))
        #expect(String(cString: openblas_get_config()).contains("OpenBLAS"))
    }

    private func mpiAndHDF5() {
        var provided: Int32 = -1
        #expect(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided) == MPI_SUCCESS)
        #expect(provided >= Int32(MPI_THREAD_FUNNELED))
        var rank: Int32 = -1, size: Int32 = -1
        MPI_Comm_rank(shim_MPI_COMM_WORLD(), &rank)
        MPI_Comm_size(shim_MPI_COMM_WORLD(), &size)
        #expect(rank == 0 && size == 1)
        var buffer: [Float] = [1, 2, 3]
        MPI_Allreduce(shim_MPI_IN_PLACE(), &buffer, 3, shim_MPI_FLOAT(), shim_MPI_SUM(), shim_MPI_COMM_WORLD())
        #expect(buffer == [1, 2, 3])

        let fapl = H5Pcreate(shim_H5P_FILE_ACCESS())
        #expect(H5Pset_fapl_mpio(fapl, shim_MPI_COMM_WORLD(), shim_MPI_INFO_NULL()) >= 0)
        H5Pclose(fapl)
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        #expect(major == 1 && minor >= 10)
        #expect(MPI_Finalize() == MPI_SUCCESS)
    }
}
