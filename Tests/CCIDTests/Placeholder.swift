import Testing
@testable import CCID
