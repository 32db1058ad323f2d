// swift-tools-version:6.0
import PackageDescription

// Numeric kernels are compiled optimised even in debug builds: a -Onone conv kernel is
// 10–50x slower, which would make the test suite crawl.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "Reverie",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "render", targets: ["render"]),
        .library(name: "Video", targets: ["Video"]),
        .library(name: "Dream", targets: ["Dream"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavcodec-dev", "libavformat-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        // Libraries
        .target(name: "Video", dependencies: ["CFFmpeg"], swiftSettings: optimised),
        .target(
            name: "Dream",
            dependencies: ["COpenBLAS", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: optimised),

        // Tool
        .executableTarget(
            name: "render",
            dependencies: ["Video", "Dream", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // Tests
        .target(name: "TestSupport", dependencies: ["Video", "Dream"], path: "Sources/TestSupport"),
        .testTarget(name: "VideoTests", dependencies: ["Video", "TestSupport"]),
        .testTarget(name: "DreamTests", dependencies: ["Dream", "TestSupport"]),
        .testTarget(name: "RenderTests", dependencies: ["render", "Video", "Dream", "TestSupport"]),
    ]
)
