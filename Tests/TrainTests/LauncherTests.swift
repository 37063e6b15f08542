// LauncherTests.swift — when a rank warns, before MPI starts, that srun's PMIx fence does not make MPI_Init a
// barrier across nodes: srun with PMIx on several nodes, unless the job's environment or the site's mpi.conf
// chose the ring fence.
import Testing
@testable import Distributed

@Suite("srun's PMIx fence warning")
struct LauncherTests {
    static let srunTwoNodes = ["SLURM_STEP_ID": "0", "SLURM_PROCID": "0", "SLURM_STEP_NUM_TASKS": "4",
                               "SLURM_STEP_NUM_NODES": "2", "PMIX_RANK": "0"]

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String, env: [String: String], mpiConf: String?, warns: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "Slurm's default fence", env: srunTwoNodes, mpiConf: nil, warns: "'mixed'"),
        Case(name: "tree fence asked for", env: srunTwoNodes.merging(["SLURM_PMIX_FENCE": "tree"]) { $1 }, mpiConf: nil, warns: "'tree'"),
        Case(name: "an empty variable is no choice", env: srunTwoNodes.merging(["SLURM_PMIX_FENCE": ""]) { $1 }, mpiConf: "PMIxCollFence=ring", warns: nil),
        Case(name: "ring fence in the environment", env: srunTwoNodes.merging(["SLURM_PMIX_FENCE": "ring"]) { $1 }, mpiConf: nil, warns: nil),
        Case(name: "ring in capitals", env: srunTwoNodes.merging(["SLURM_PMIX_FENCE": "RING"]) { $1 }, mpiConf: nil, warns: nil),
        Case(name: "ring in mpi.conf", env: srunTwoNodes, mpiConf: "PMIxDebug=0\n pmixcollfence = Ring  # site choice\n", warns: nil),
        Case(name: "mpi.conf's ring commented out", env: srunTwoNodes, mpiConf: "# PMIxCollFence=ring\n", warns: "'mixed'"),
        Case(name: "the environment overrides mpi.conf", env: srunTwoNodes.merging(["SLURM_PMIX_FENCE": "mixed"]) { $1 },
             mpiConf: "PMIxCollFence=ring\n", warns: "'mixed'"),
        Case(name: "one node", env: srunTwoNodes.merging(["SLURM_STEP_NUM_NODES": "1"]) { $1 }, mpiConf: nil, warns: nil),
        Case(name: "srun without PMIx", env: srunTwoNodes.filter { $0.key != "PMIX_RANK" }, mpiConf: nil, warns: nil),
        Case(name: "mpirun", env: ["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "0", "SLURM_NNODES": "2", "PMIX_RANK": "0"],
             mpiConf: nil, warns: nil),
    ]

    @Test(arguments: cases)
    func warning(_ c: Case) {
        let warning = Launcher.detect(c.env).unsafeFence(c.env, mpiConf: c.mpiConf)
        if let expected = c.warns {
            #expect(warning?.contains("srun's PMIx fence is \(expected)") == true, "\(String(describing: warning))")
            #expect(warning?.contains("HINT: export SLURM_PMIX_FENCE=ring") == true)
        } else {
            #expect(warning == nil, "\(String(describing: warning))")
        }
    }
}
