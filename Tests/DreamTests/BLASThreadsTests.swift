@testable import Dream
import XCTest

/// Which OpenBLAS kernel set a process restarts with: only a pre-AVX2 fallback is replaced, and only by
/// what the CPU's flags offer.
final class BLASThreadsTests: XCTestCase {
    func testFallbackKernelsAreReplacedOnlyByWhatTheCPUOffers() {
        let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
        XCTAssertEqual(BLASThreads.betterCoreType(chosen: "Prescott", cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(BLASThreads.betterCoreType(chosen: "Nehalem", cpuFlags: ["avx", "avx2", "fma"]), "Haswell")
        // AVX-512 without BW/DQ/VL (Knights Landing) is not SkylakeX.
        XCTAssertEqual(BLASThreads.betterCoreType(chosen: "Prescott", cpuFlags: ["avx2", "fma", "avx512f", "avx512cd"]), "Haswell")
        XCTAssertNil(BLASThreads.betterCoreType(chosen: "Prescott", cpuFlags: ["sse3", "avx"]))
        XCTAssertNil(BLASThreads.betterCoreType(chosen: "Prescott", cpuFlags: nil))
        // A kernel set OpenBLAS chose on purpose is kept.
        XCTAssertNil(BLASThreads.betterCoreType(chosen: "Haswell", cpuFlags: avx512))
        XCTAssertNil(BLASThreads.betterCoreType(chosen: "Zen", cpuFlags: avx512))
    }

    func testThisMachineHasFlagsAndACoreName() {
        XCTAssertFalse(BLASThreads.coreName.isEmpty)
        #if os(Linux)
            XCTAssertNotNil(BLASThreads.cpuFlags())
        #endif
    }
}
