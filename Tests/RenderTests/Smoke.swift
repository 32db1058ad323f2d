import XCTest
final class RenderSmokeTests: XCTestCase { func testBuilds() {} }
