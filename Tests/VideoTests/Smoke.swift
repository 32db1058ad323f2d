import XCTest
final class VideoSmokeTests: XCTestCase { func testBuilds() {} }
