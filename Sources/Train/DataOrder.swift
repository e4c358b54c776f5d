/// The data-order generator: xoshiro256** (Blackman & Vigna), seeded through SplitMix64: a small, fast generator whose whole
/// state is four words, so it fits in a checkpoint's metadata and restores exactly.
public struct OrderRNG: RandomNumberGenerator, Equatable, Sendable {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var s = seed
        func splitmix() -> UInt64 {
            s &+= 0x9e3779b97f4a7c15
            var z = s
            z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
            z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
            return z ^ (z >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }
    public init(state: (UInt64, UInt64, UInt64, UInt64)) { self.state = state }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0; state.3 ^= state.1; state.1 ^= state.2; state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }
    /// A uniform integer in 0..<n (Lemire's multiply-shift with rejection: unbiased, portable).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        while true {
            let (hi, lo) = next().multipliedFullWidth(by: bound)
            if lo >= (0 &- bound) % bound { return Int(hi) }
        }
    }
    public static func == (a: OrderRNG, b: OrderRNG) -> Bool {
        a.state.0 == b.state.0 && a.state.1 == b.state.1 && a.state.2 == b.state.2 && a.state.3 == b.state.3
    }
    /// The state as text ("hex,hex,hex,hex"), for checkpoint metadata.
    public var text: String {
        [state.0, state.1, state.2, state.3].map { String($0, radix: 16) }.joined(separator: ",")
    }
    public init?(text: String) {
        let parts = text.split(separator: ",").compactMap { UInt64($0, radix: 16) }
        guard parts.count == 4, parts.contains(where: { $0 != 0 }) else { return nil }
        state = (parts[0], parts[1], parts[2], parts[3])
    }
}

@inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

/// The order in which training examples are visited: a fresh seeded shuffle per epoch; minibatches
/// take the next `batch` indices (a batch may straddle two epochs). Its state — the generator as it
/// was at the start of the current epoch, the epoch and the position in it — is small and goes into
/// checkpoints; restoring it re-derives the epoch's permutation, so a resumed run visits exactly the
/// examples the uninterrupted run would.
public struct DataOrder: Equatable {
    public let count: Int
    public private(set) var epoch: Int = 0
    public private(set) var position: Int = 0
    /// The generator at the start of the current epoch.
    public private(set) var epochStart: OrderRNG
    private var rng: OrderRNG
    private var permutation: [Int] = []

    public init(count: Int, seed: UInt64) {
        precondition(count > 0, "empty data set")
        self.count = count
        epochStart = OrderRNG(seed: seed)
        rng = epochStart
        shuffle()
    }

    /// Restores a saved state (see `state`).
    public init(count: Int, epochStart: OrderRNG, epoch: Int, position: Int) throws {
        guard count > 0, position >= 0, position <= count, epoch >= 0 else {
            throw CheckpointError("data order: position \(position) outside an epoch of \(count) examples")
        }
        self.count = count
        self.epochStart = epochStart
        rng = epochStart
        self.epoch = epoch
        shuffle()
        self.position = position
    }

    private mutating func shuffle() {
        permutation = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = rng.below(i + 1)
            permutation.swapAt(i, j)
            i -= 1
        }
        position = 0
    }

    /// The next `n` example indices.
    public mutating func next(_ n: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(n)
        while out.count < n {
            if position == count {
                epochStart = rng
                epoch += 1
                shuffle()
            }
            let take = min(n - out.count, count - position)
            out.append(contentsOf: permutation[position..<(position + take)])
            position += take
        }
        return out
    }

    public static func == (a: DataOrder, b: DataOrder) -> Bool {
        a.count == b.count && a.epoch == b.epoch && a.position == b.position && a.epochStart == b.epochStart
    }
}
