// swift-tools-version:6.0
// The engine benchmark: a separate package so it stays out of the main build and CI.
// Run with Benchmarks/run.sh (release build, then onnxruntime side by side).
import PackageDescription

let package = Package(
    name: "ReverieBenchmarks",
    dependencies: [.package(name: "Reverie", path: "..")],
    targets: [
        .executableTarget(
            name: "reverie-bench",
            dependencies: [.product(name: "Dream", package: "Reverie")],
            swiftSettings: [.swiftLanguageMode(.v5)])
    ]
)
