// swift-tools-version:6.0
// The VSC graph compiler. Folders read in the order data flows:
//   IR/ (graph, builder, text format) → Passes/ (autodiff, optimisation, memory planning)
//   → Sources/Runtime (OpenBLAS interpreter) and Sources/JIT (LLVM ORC) → Sources/Models,
//   Sources/Data → Sources/Train → Sources/Eval → Sources/Experiment → Sources/vsc (the CLI).
import PackageDescription

let package = Package(
    name: "VSCCompiler",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vsc", targets: ["vsc"]),
        .library(name: "VSC", targets: ["SeededRandom", "IR", "Passes", "Runtime", "JIT", "Data", "Models", "Train", "Eval", "Plot", "Experiment"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // System libraries (Debian packages; see .ci/run).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CLLVM", path: "Sources/CLLVM"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // OpenMPI (data-parallel training); MPI's handles are macros, wrapped in shim.h.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "pangocairo",
                       providers: [.apt(["libcairo2-dev", "libpango1.0-dev", "fonts-dejavu-core"])]),

        // Compiler core.
        .target(name: "SeededRandom", path: "Sources/SeededRandom"),
        .target(name: "IR", dependencies: ["SeededRandom"], path: "IR"),
        .target(name: "Passes", dependencies: ["IR"], path: "Passes"),

        // Backends.
        .target(name: "Runtime", dependencies: ["SeededRandom", "IR", "Passes", "CBLAS", "CMPI"], path: "Sources/Runtime"),
        .target(name: "JIT", dependencies: ["IR", "Passes", "Runtime", "CLLVM", "CBLAS", "CMPI"], path: "Sources/JIT"),

        // Drawing: figures as marks, written as PNG, SVG and PDF (Cairo + Pango).
        .target(name: "Plot", dependencies: ["CCairo"], path: "Sources/Plot"),

        // Models, data, training, evaluation.
        .target(name: "Data", dependencies: ["SeededRandom", "CZlib", "CPNG", "CJPEG"], path: "Sources/Data"),
        .target(name: "Models", dependencies: ["SeededRandom", "IR", "Passes", "Data", .product(name: "Yams", package: "Yams")], path: "Sources/Models"),
        .target(name: "Train", dependencies: ["SeededRandom", "IR", "Passes", "Runtime", "JIT", "Models", "Data"], path: "Sources/Train"),
        .target(name: "Eval", dependencies: ["SeededRandom", "IR", "Passes", "Runtime", "Models", "Data", "Train", "Plot"], path: "Sources/Eval"),
        // Experiments as files: grids of specs, trained and evaluated cell by cell, and their reports.
        .target(name: "Experiment", dependencies: ["IR", "Passes", "Data", "Models", "Train", "Eval", "Plot",
                                                   .product(name: "Yams", package: "Yams")], path: "Sources/Experiment"),

        // The CLI.
        .executableTarget(
            name: "vsc",
            dependencies: ["IR", "Passes", "Runtime", "JIT", "Data", "Models", "Train", "Eval", "Plot", "Experiment",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/vsc"),

        // A user's program: a custom VSC variant built with the Swift builder API, then trained.
        .executableTarget(name: "custom-vsc", dependencies: ["SeededRandom", "IR", "Passes", "Runtime", "JIT", "Models", "Train", "Data"],
                          path: "Samples/CustomVSC"),

        // Tests mirror targets; TestSupport holds what several of them share.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "IRTests", dependencies: ["IR"], path: "Tests/IRTests"),
        .testTarget(name: "PassesTests", dependencies: ["IR", "Passes", "Runtime"], path: "Tests/PassesTests",
                    exclude: ["Golden"]),
        .testTarget(name: "RuntimeTests", dependencies: ["IR", "Runtime"], path: "Tests/RuntimeTests"),
        .testTarget(name: "JITTests", dependencies: ["IR", "Passes", "Runtime", "JIT", "Models"], path: "Tests/JITTests"),
        .testTarget(name: "DataTests", dependencies: ["SeededRandom", "Data"], path: "Tests/DataTests"),
        .testTarget(name: "ModelsTests", dependencies: ["SeededRandom", "IR", "Passes", "Runtime", "Models"], path: "Tests/ModelsTests",
                    exclude: ["Golden"]),
        .testTarget(name: "TrainTests", dependencies: ["SeededRandom", "IR", "Runtime", "Models", "Train", "Data", "TestSupport"], path: "Tests/TrainTests"),
        .testTarget(name: "FuzzTests", dependencies: ["SeededRandom", "IR", "Passes", "Models", "Train", "Data", "Eval"], path: "Tests/FuzzTests",
                    exclude: ["Regressions"]),
        .testTarget(name: "vscTests", dependencies: ["vsc", "IR", "Train", "Eval", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                    path: "Tests/vscTests"),
        .testTarget(name: "PlotTests", dependencies: ["Plot"], path: "Tests/PlotTests"),
        .testTarget(name: "ExperimentTests", dependencies: ["Experiment", "Eval", "Models", "Runtime", "Train"], path: "Tests/ExperimentTests"),
        .testTarget(name: "EvalTests", dependencies: ["SeededRandom", "Eval", "Data", "Runtime", "Models", "Train", "Plot"], path: "Tests/EvalTests"),
    ],
    swiftLanguageModes: [.v5]
)
