// swift-tools-version:6.0
// Descent: a distributed neural-network trainer for CPU clusters, in Swift over MPI.
// Module map and dependency direction: ../README.md "Layout" and docs/ (DESIGN §2).
import PackageDescription

let package = Package(
    name: "Descent",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "descent-bench", targets: ["descent-bench"]),
    ],
    targets: [
        // System-library shims. pkg-config supplies -I/-L; each modulemap supplies -l.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-openmpi", providers: [.apt(["libhdf5-openmpi-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The numerical core.
        .target(name: "Tensor", dependencies: ["COpenBLAS"]),
        .target(name: "Layers", dependencies: ["Tensor"]),
        .target(name: "Optim", dependencies: ["Tensor"]),

        // Benchmarks (not tests): bench/README.md.
        .executableTarget(name: "descent-bench", dependencies: ["Tensor", "Layers", "Optim", "COpenBLAS"],
                          path: "bench/Sources/descent-bench"),

        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensor"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "Tensor"]),
        .testTarget(name: "ShimTests", dependencies: ["CMPI", "CHDF5", "CZlib", "COpenBLAS"]),
    ]
)
