// swift-tools-version:6.0
// Descent: a distributed neural-network trainer for CPU clusters, in Swift over MPI.
// Modules and the direction of their dependencies: README.md, "Layout".
import PackageDescription

let package = Package(
    name: "Descent",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "descent", targets: ["descent"]),
        .executable(name: "descent-bench", targets: ["descent-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // System-library shims. pkg-config supplies -I/-L; each modulemap supplies -l.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-openmpi", providers: [.apt(["libhdf5-openmpi-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CTIFF", pkgConfig: "libtiff-4", providers: [.apt(["libtiff-dev"])]),

        // The numerical core.
        .target(name: "Tensor", dependencies: ["COpenBLAS"]),
        .target(name: "Layers", dependencies: ["Tensor"]),
        .target(name: "Optim", dependencies: ["Tensor"]),

        // Data sets, job files, checkpoints, training, reports.
        .target(name: "Distributed", dependencies: ["CMPI"]),
        .target(name: "HDF5", dependencies: ["CHDF5", "CMPI"]),
        .target(name: "Data", dependencies: ["Tensor", "HDF5", "CZlib", "CHDF5"]),
        .target(name: "Job", dependencies: ["Layers", "Optim", .product(name: "TOMLKit", package: "TOMLKit")]),
        .target(name: "Checkpoint", dependencies: ["HDF5", "Layers", "Job", "Distributed", "CZlib", "CHDF5"]),
        .target(name: "Report", dependencies: []),
        .target(name: "Slurm", dependencies: []),
        .target(name: "Segmentation", dependencies: ["CTIFF", "CZlib", "Tensor", "Data", "HDF5", "CHDF5", "Distributed", "Layers"]),
        .target(name: "Sweep", dependencies: ["Train", "Data", "Job", "Report", "Checkpoint", "Distributed", .product(name: "TOMLKit", package: "TOMLKit")]),
        .target(name: "Train", dependencies: ["Job", "Data", "Layers", "Optim", "Tensor", "Report", "Checkpoint", "Distributed"]),

        // The command-line tool.
        .executableTarget(name: "descent", dependencies: [
            "Train", "Job", "Data", "Report", "Checkpoint", "Distributed", "Slurm", "Sweep", "Segmentation", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks (not tests): bench/README.md.
        .executableTarget(name: "descent-bench", dependencies: ["Tensor", "Layers", "Optim", "COpenBLAS", "Train", "Job", "Data", "Distributed", "Checkpoint", "Report"],
                          path: "bench/Sources/descent-bench"),

        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Tensor"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "Tensor"], exclude: ["pytorch_reference.py"]),
        .testTarget(name: "ShimTests", dependencies: ["CMPI", "CHDF5", "HDF5", "CZlib", "COpenBLAS"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "HDF5", "Tensor"]),
        .testTarget(name: "JobTests", dependencies: ["Job", "Layers", "Optim"]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation"]),
        .testTarget(name: "TrainTests", dependencies: ["Train", "Distributed", "Job", "Data", "Layers", "Optim", "Report", "Checkpoint"]),
        // Runs the built `descent` executable (also under mpirun); CZlib writes gzipped IDX fixtures, Checkpoint
        // reads the parameters a run saved, Segmentation writes TIFF fixtures, Data writes sample files, HDF5's lock
        // is held while a test starts a program (Executable.swift).
        .testTarget(name: "CLITests", dependencies: ["CZlib", "HDF5", "Checkpoint", "Segmentation", "Data"]),
    ]
)
