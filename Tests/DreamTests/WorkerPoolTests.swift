@testable import Dream
import Foundation
import XCTest

/// `parallelFor` keeps its contract: every item runs exactly once before the call returns, whether
/// the worker is spinning, asleep, or the pool is already in use, and no two items of one task run at
/// the same time. (Each counter belongs to one item or task, so plain writes race only if the
/// contract breaks.)
final class WorkerPoolTests: XCTestCase {
    func testEveryIterationRunsOnceBackToBackAfterSleepNestedAndFromTwoThreads() {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2 * 8 * 16)
        let inUse = UnsafeMutablePointer<Int>.allocate(capacity: Parallel.tasks)
        inUse.initialize(repeating: 0, count: Parallel.tasks)
        defer { counts.deallocate(); inUse.deallocate() }
        func check(_ n: Int, _ label: String) {
            counts.initialize(repeating: 0, count: n)
            parallelFor(n) { task, i in
                XCTAssertLessThan(task, Parallel.tasks)
                XCTAssertEqual(inUse[task], 0, "two items of task \(task) at once")
                inUse[task] = 1
                counts[i] += 1
                inUse[task] = 0
            }
            for i in 0..<n where counts[i] != 1 { XCTFail("\(label): iteration \(i) ran \(counts[i]) times"); return }
        }
        // Back to back: the worker is spinning between regions.
        for k in 0..<2000 { check(1 + k % 37, "back to back \(k)") }
        // After the worker has gone to sleep.
        Thread.sleep(forTimeInterval: 0.01)
        check(64, "after sleep")
        // Regions inside a region, from two threads at once (one holds the pool, the rest use GCD).
        counts.initialize(repeating: 0, count: 2 * 8 * 16)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for _ in 0..<200 {
                parallelFor(8) { _, i in
                    parallelFor(16) { _, j in counts[caller * 128 + i * 16 + j] += 1 }
                }
            }
        }
        for i in 0..<(2 * 8 * 16) where counts[i] != 200 { XCTFail("nested: item \(i) ran \(counts[i]) times, not 200"); return }
    }
}
