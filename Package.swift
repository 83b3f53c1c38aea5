// swift-tools-version:6.1
// Carte — French health smart cards (carte Vitale, CPS, badges) over PC/SC and USB CCID, with simulators.
import PackageDescription

let package = Package(
    name: "Carte",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "carte", targets: ["carte"]),
        .library(name: "ISO7816", targets: ["ISO7816"]),
        .library(name: "INS", targets: ["INS"]),
        .library(name: "CardSimulator", targets: ["CardSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // The terminal service (`carte serve`): local API, WebSocket events, configuration, metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // MARK: System C libraries (pkg-config names: openssl, libpcsclite, libusb-1.0)
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CPCSCLite", path: "Hardware/CPCSCLite", pkgConfig: "libpcsclite",
            providers: [.apt(["libpcsclite-dev"])]),
        .systemLibrary(
            name: "CLibUSB", path: "Hardware/CLibUSB", pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"])]),

        // MARK: Hardware-independent core
        .target(name: "ISO7816", path: "Sources/ISO7816"),
        .target(name: "INS", dependencies: ["CarteCrypto"], path: "Sources/INS"),
        .target(name: "CarteCrypto", dependencies: ["COpenSSL"], path: "Sources/CarteCrypto"),
        .target(name: "Vitale", dependencies: ["ISO7816", "INS"], path: "Sources/Vitale"),
        .target(name: "CPS", dependencies: ["ISO7816", "CarteCrypto"], path: "Sources/CPS"),
        .target(name: "Badges", dependencies: ["ISO7816", "CarteCrypto"], path: "Sources/Badges"),
        .target(
            name: "Authentication",
            dependencies: [
                "ISO7816", "CPS", "Badges", "CarteCrypto", "INS", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Sources/Authentication"),
        .target(
            name: "Terminal",
            dependencies: [
                "ISO7816", "Vitale", "CPS", "Badges", "Authentication", "INS", "CarteCrypto", "CardSimulator", "PCSC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/Terminal", resources: [.copy("Resources/kiosk")]),

        // MARK: Hardware
        .target(name: "PCSC", dependencies: ["ISO7816", "CPCSCLite"], path: "Hardware/PCSC"),
        .target(name: "CCID", dependencies: ["ISO7816", "CLibUSB"], path: "Hardware/CCID"),

        // MARK: Simulators
        .target(
            name: "CardSimulator", dependencies: ["ISO7816", "CarteCrypto"], path: "Simulators/CardSimulator",
            resources: [.copy("Fixtures/personas.json")]),
        .target(name: "VirtualPCD", dependencies: ["CardSimulator"], path: "Simulators/VirtualPCD"),
        .target(
            name: "CCIDDevice", dependencies: ["CCID", "CardSimulator", "ISO7816"], path: "Simulators/CCIDDevice"),

        // MARK: The main job: the whole access flow on simulated cards (`carte demo`)
        .target(
            name: "CarteDemo",
            dependencies: [
                "ISO7816", "INS", "Vitale", "CPS", "Badges", "Authentication", "CarteCrypto", "CardSimulator",
                "PCSC", "VirtualPCD",
            ],
            path: "Sources/Demo"),

        // MARK: Benchmarks (carte bench)
        .target(
            name: "CarteBench",
            dependencies: [
                "ISO7816", "INS", "Vitale", "CPS", "Badges", "Authentication", "CarteCrypto", "CardSimulator",
                "PCSC", "VirtualPCD",
            ],
            path: "Sources/Benchmarks",
            resources: [.copy("Resources/insc_batch.py"), .copy("C/pcsc_loop.c")]),

        // MARK: The command-line tool
        .executableTarget(
            name: "carte",
            dependencies: [
                "ISO7816", "INS", "Vitale", "CPS", "Badges", "Authentication", "Terminal",
                "PCSC", "CCID", "CCIDDevice", "CardSimulator", "VirtualPCD", "CarteDemo", "CarteBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/carte"),

        // MARK: Tests (one target per module, plus end-to-end through pcscd + vpcd)
        .testTarget(name: "ISO7816Tests", dependencies: ["ISO7816"], path: "Tests/ISO7816Tests"),
        .testTarget(name: "INSTests", dependencies: ["INS"], path: "Tests/INSTests"),
        .testTarget(name: "CarteCryptoTests", dependencies: ["CarteCrypto"], path: "Tests/CarteCryptoTests"),
        .testTarget(
            name: "CardSimulatorTests", dependencies: ["CardSimulator", "ISO7816"],
            path: "Tests/CardSimulatorTests"),
        .testTarget(name: "PCSCTests", dependencies: ["PCSC", "ISO7816"], path: "Tests/PCSCTests"),
        .testTarget(
            name: "CCIDTests", dependencies: ["CCID", "CCIDDevice", "ISO7816", "CardSimulator"],
            path: "Tests/CCIDTests"),
        .testTarget(
            name: "CardApplicationTests",
            dependencies: ["Vitale", "CPS", "Badges", "INS", "CardSimulator", "ISO7816", "CarteCrypto"],
            path: "Tests/CardApplicationTests"),
        .testTarget(
            name: "TerminalTests",
            dependencies: [
                "Terminal", "Authentication", "CardSimulator", "ISO7816",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/TerminalTests"),
        .testTarget(
            name: "FaultMatrixTests",
            dependencies: [
                "Vitale", "CPS", "Badges", "Authentication", "CardSimulator", "ISO7816", "CarteCrypto", "VirtualPCD",
                "Terminal",
            ],
            path: "Tests/FaultMatrixTests"),
        .testTarget(
            name: "CarteBenchTests", dependencies: ["CarteBench", "CardSimulator", "ISO7816"],
            path: "Tests/CarteBenchTests"),
        .testTarget(
            name: "AuthenticationTests",
            dependencies: [
                "Authentication", "CPS", "Badges", "CardSimulator", "ISO7816", "CarteCrypto", "PCSC", "VirtualPCD",
            ],
            path: "Tests/AuthenticationTests"),
        .testTarget(
            name: "DemoTests", dependencies: ["CarteDemo", "CardSimulator", "Vitale", "VirtualPCD"],
            path: "Tests/DemoTests"),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["PCSC", "VirtualPCD", "CardSimulator", "ISO7816", "Vitale", "CPS"],
            path: "Tests/EndToEndTests"),
        .testTarget(name: "CLITests", dependencies: ["ISO7816"], path: "Tests/CLITests"),
    ],
    swiftLanguageModes: [.v6]
)
