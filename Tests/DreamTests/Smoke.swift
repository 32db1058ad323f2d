import XCTest
final class DreamSmokeTests: XCTestCase { func testBuilds() {} }
