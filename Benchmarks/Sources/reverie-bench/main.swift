@_spi(Benchmarks) import Dream
import Foundation

// reverie-bench [--model PATH] [--layer block10] [--runs 7] [--sizes 224x224,512x512,1280x720] [--no-profile] [--no-fuse]
//               [--kernels]  (each depthwise conv alone instead)
// Prints JSON lines {"bench":..., "size":..., "ms":...} and a table: forward and
// forward+input-gradient medians, this machine's sgemm rate, and the step's sgemm floor.

struct Options {
    var model = FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/reverie/models/efficientnet-lite0.onnx"
    var layer = "block10"
    var runs = 7
    var sizes: [(w: Int, h: Int)] = [(224, 224), (512, 512), (1280, 720)]
    var profile = true
    var fuse = true
    var kernels = false

    init(_ args: [String]) throws {
        var i = 1
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw BenchError("missing value after \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--model": model = try value()
            case "--layer": layer = try value()
            case "--runs": runs = Int(try value()) ?? runs
            case "--no-profile": profile = false
            case "--no-fuse": fuse = false  // op by op: measures the fused inverted-residual blocks
            case "--kernels": kernels = true  // each depthwise conv alone, forward and input gradient
            case "--sizes":
                sizes = try value().split(separator: ",").map { s in
                    let p = s.split(separator: "x").compactMap { Int($0) }
                    guard p.count == 2 else { throw BenchError("size \(s) is not WxH") }
                    return (p[0], p[1])
                }
            default: throw BenchError("unknown argument \(args[i])")
            }
            i += 1
        }
    }
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

func median(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var times = [Double]()
    for _ in 0..<runs { let t = now(); try body(); times.append(now() - t) }
    return times.sorted()[times.count / 2]
}

/// GFLOP/s of a 1024³ sgemm through Dream's single sgemm call site (2 threads), median of 7 runs.
/// Measured for each size right after its step, so the step/floor ratio compares two medians taken in
/// the same moment of a shared, noisy machine (the other tenants slow both alike).
func sgemmRate() -> Double {
    let n = 1024
    let a = [Float](repeating: 0.5, count: n * n), b = a
    var c = [Float](repeating: 0, count: n * n)
    let ms = a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                median(7) {
                    gemm(
                        transA: false, transB: false, m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n,
                        c: cp.baseAddress!, ldc: n)
                }
            }
        }
    }
    return 2 * Double(n * n * n) / (ms / 1000) / 1e9
}

func json(_ bench: String, _ size: String, _ ms: Double) {
    print("{\"bench\": \"\(bench)\", \"size\": \"\(size)\", \"ms\": \(String(format: "%.2f", ms))}")
}

BLASThreads.restartWithTunedOpenBLASIfNeeded()  // as `render` does (see BLASThreads.swift)
do {
    let opt = try Options(CommandLine.arguments)
    guard FileManager.default.fileExists(atPath: opt.model) else {
        throw BenchError("\(opt.model): no such model (run `render model fetch` first)")
    }
    let net = try Network(onnxPath: opt.model)
    net.fusesInvertedResiduals = opt.fuse
    if opt.kernels {
        for (w, h) in opt.sizes {
            var fwd = 0.0, bwd = 0.0
            for k in try net.depthwiseKernelTimes(height: h, width: w, layers: [opt.layer], runs: opt.runs) {
                print(
                    String(
                        format: "%@x%@ %-28@ forward %7.3f ms  backward %7.3f ms", "\(w)", "\(h)", k.name as NSString,
                        k.forward, k.backward))
                fwd += k.forward; bwd += k.backward
            }
            print(
                String(
                    format: "%dx%d depthwise total: forward %.2f ms, backward %.2f ms (minimum of %d runs each)", w, h, fwd, bwd,
                    opt.runs))
        }
        exit(0)
    }
    var measured = [(size: String, fwd: Double, step: Double, macs: Int, bound: Double, rate: Double)]()
    for (w, h) in opt.sizes {
        let size = "\(w)x\(h)"
        var g = SeededGenerator(seed: 1)
        let x = Tensor(shape: [1, 3, h, w], data: (0..<3 * h * w).map { _ in Float.random(in: -1...1, using: &g) })
        let seed: (String, Tensor) -> (loss: Float, grad: Tensor) = { _, a in
            // L2 objective 0.5·mean(A²): seed A / numel.
            let n = Float(a.count)
            var grad = a
            var loss: Float = 0
            for i in 0..<a.count { loss += a.data[i] * a.data[i]; grad.data[i] = a.data[i] / n }
            return (0.5 * loss / n, grad)
        }
        _ = try net.forward(x, outputs: [opt.layer])  // warm: allocates the arena
        _ = try net.gradient(of: x, layers: [opt.layer], seed: seed)
        let fwd = try median(opt.runs) { _ = try net.forward(x, outputs: [opt.layer]) }
        let step = try median(opt.runs) { _ = try net.gradient(of: x, layers: [opt.layer], seed: seed) }
        let rate = sgemmRate()
        let macs = try net.multiplyAdds(height: h, width: w, layers: [opt.layer])
        // The 1x1 convs alone as bare sgemms on both cores: the least OpenBLAS needs for them.
        let bound = try net.pointwiseConvShapes(height: h, width: w, layers: [opt.layer])
            .reduce(0) { $0 + splitGemmMilliseconds(m: $1.outC, n: $1.plane, k: $1.inC, runs: opt.runs) }
        json("forward", size, fwd)
        json("gradient_step", size, step)
        json("pointwise_sgemm_bound", size, bound)
        let peak = net.estimatedPeakBytes(height: h, width: w, layers: [opt.layer])
        print("{\"bench\": \"estimated_peak_mb\", \"size\": \"\(size)\", \"mb\": \(peak / 1_000_000)}")
        json("sgemm_gflops", size, rate)
        measured.append((size, fwd, step, macs, bound, rate))
        if opt.profile {
            net.profiling = true; net.resetProfile()
            let profRuns = 3
            let wall0 = now()
            for _ in 0..<profRuns { _ = try net.gradient(of: x, layers: [opt.layer], seed: seed) }
            let wall = (now() - wall0) / Double(profRuns)
            net.profiling = false
            let total = net.profile.values.reduce(0, +)
            print(
                String(
                    format: "profile %@ (gradient step, %@, mean of %d): %.2f ms in kernels of %.2f ms wall", size, opt.layer,
                    profRuns, total * 1000 / Double(profRuns), wall))
            for (k, v) in net.profile.sorted(by: { $0.value > $1.value }) {
                print(String(format: "  %-34@ %8.2f ms %5.1f %%", k as NSString, v * 1000 / Double(profRuns), 100 * v / total))
            }
            if ProcessInfo.processInfo.environment["REVERIE_BENCH_NODES"] != nil {
                // The forward alone, per node (fused blocks write no E and D here).
                net.resetProfile(); net.profiling = true
                for _ in 0..<profRuns { _ = try net.forward(x, outputs: [opt.layer]) }
                net.profiling = false
                for (k, v) in net.nodeProfile.sorted(by: { $0.key < $1.key }) {
                    print(String(format: "  fwd-only node %-44@ %8.2f ms", k as NSString, v * 1000 / Double(profRuns)))
                }
                net.resetProfile(); net.profiling = true
                for _ in 0..<profRuns { _ = try net.gradient(of: x, layers: [opt.layer], seed: seed) }
                net.profiling = false
                for (k, v) in net.nodeProfile.sorted(by: { $0.key < $1.key }) {
                    print(String(format: "  node %-44@ %8.2f ms", k as NSString, v * 1000 / Double(profRuns)))
                }
            }
        }
    }
    var rows = [String]()
    for m in measured {
        // Floor: forward MACs plus the input gradient's (the same count) at the sgemm rate.
        let fwdFloor = 2 * Double(m.macs) / m.rate / 1e6, stepFloor = 2 * fwdFloor
        json("forward_sgemm_floor", m.size, fwdFloor)
        json("step_sgemm_floor", m.size, stepFloor)
        rows.append(
            String(
                format: "%-9@ %9.1f %9.1f %6.2fx %9.3f %9.1f %6.2fx %9.1f %12.1f", m.size as NSString, m.fwd, m.step,
                m.step / m.fwd, Double(m.macs) / 1e9, stepFloor, m.step / stepFloor, m.bound, m.rate))
    }
    print("\nmodel \(opt.model), layer \(opt.layer), OpenBLAS kernels \(BLASThreads.coreName), medians of \(opt.runs) runs")
    print("size      fwd ms    step ms  step/fwd  GMACs   floor ms  step/floor  1x1 bound ms  sgemm GFLOP/s")
    rows.forEach { print($0) }
} catch {
    FileHandle.standardError.write("reverie-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}

/// The benchmark's own usage errors.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
