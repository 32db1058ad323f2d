/// Fully connected ops with a constant right operand (weights are frozen).
///   gemm:   Y (M, N) = alpha · op(A) · op(B) + beta · C, A stored (M, K) or (K, M) if transA,
///           B stored (K, N) or (N, K) if transB, C broadcast to (M, N)
///           dA += alpha · dY · op(B)ᵀ  (stored layout of A)
///   matMul: Y (rows, N) = A (rows, K) · B (K, N);   dA += dY · Bᵀ

func denseGemm(
    a: UnsafePointer<Float>, m: Int, k: Int, n: Int, b: UnsafePointer<Float>, c: UnsafePointer<Float>?,
    cShape: [Int], alpha: Float, beta: Float, transA: Bool, transB: Bool, y: UnsafeMutablePointer<Float>
) {
    var addC = false
    if let c, beta != 0 {
        addC = true
        let s = broadcastStrides(cShape, to: [m, n])
        forEachBroadcast(out: [m, n], aStrides: s, bStrides: s) { o, i, _ in y[o] = beta * c[i] }
    }
    gemm(
        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: transA ? m : k,
        b: b, ldb: transB ? k : n, beta: addC ? 1 : 0, c: y, ldc: n)
}

func denseGemmBackward(
    dy: UnsafePointer<Float>, m: Int, k: Int, n: Int, b: UnsafePointer<Float>, alpha: Float,
    transA: Bool, transB: Bool, da: UnsafeMutablePointer<Float>
) {
    if !transA {
        // dA (M, K) += alpha · dY (M, N) · op(B)ᵀ (N, K)
        gemm(
            transA: false, transB: !transB, m: m, n: k, k: n, alpha: alpha, a: dy, lda: n,
            b: b, ldb: transB ? k : n, beta: 1, c: da, ldc: k)
    } else {
        // stored dA (K, M) += alpha · op(B) (K, N) · dYᵀ (N, M)
        gemm(
            transA: transB, transB: true, m: k, n: m, k: n, alpha: alpha, a: b, lda: transB ? k : n,
            b: dy, ldb: n, beta: 1, c: da, ldc: m)
    }
}
