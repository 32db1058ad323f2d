// swift-tools-version:6.0
import PackageDescription

// Numeric kernels are compiled optimised even in debug builds: a -Onone conv kernel is
// 10–50x slower, which would make the test suite crawl.
// Swift 5 language mode: the kernels share raw buffers across DispatchQueue.concurrentPerform
// iterations, which strict Swift 6 concurrency checking cannot express without wrappers.
let language: [SwiftSetting] = [.swiftLanguageMode(.v5)]
#if arch(x86_64)
    // AVX2 + FMA (x86-64-v3; every x86 server CPU since 2015): without it SIMD8<Float> is two SSE
    // halves and `addingProduct` a libm call per lane. REVERIE_FMA tells the kernels FMA is available.
    let simd: [String] = ["-Xcc", "-mavx2", "-Xcc", "-mfma", "-D", "REVERIE_FMA"]
    // The direct convolution's register tile only (ConvAVX512): called when the CPU has AVX-512 F.
    let avx512: [String] = ["-Xcc", "-mavx512f", "-Xcc", "-mfma"]
#else
    let simd: [String] = []
    let avx512: [String] = []
#endif
let optimised: [SwiftSetting] = language + [.unsafeFlags(["-O"] + simd)]

let package = Package(
    name: "Reverie",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "render", targets: ["render"]),
        .library(name: "Video", targets: ["Video"]),
        .library(name: "Dream", targets: ["Dream"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/pointfreeco/swift-parsing", from: "0.15.2")
    ],
    targets: [
        // C libraries
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavcodec-dev", "libavformat-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        // Libraries
        .target(name: "Video", dependencies: ["CFFmpeg"], swiftSettings: optimised),
        .target(name: "ConvAVX512", swiftSettings: language + [.unsafeFlags(["-O"] + avx512)]),
        .target(
            name: "Dream",
            dependencies: [
                "COpenBLAS", "ConvAVX512", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Parsing", package: "swift-parsing"),
            ],
            swiftSettings: optimised),

        // Tool
        .executableTarget(
            name: "render",
            dependencies: ["Video", "Dream", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: language),

        // Tests
        .target(
            name: "TestSupport", dependencies: ["Video", "Dream"], path: "Sources/TestSupport",
            swiftSettings: language),
        .testTarget(name: "VideoTests", dependencies: ["Video", "TestSupport"], swiftSettings: language),
        .testTarget(name: "DreamTests", dependencies: ["Dream", "TestSupport"], swiftSettings: language),
        .testTarget(name: "RenderTests", dependencies: ["render", "Video", "Dream", "TestSupport"], swiftSettings: language)
    ]
)
