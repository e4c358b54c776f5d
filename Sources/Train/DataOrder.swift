import SeededRandom

/// The data-order generator: the project's xoshiro256**, its state expanded from the seed by
/// SplitMix64 (the four words of `SplitMix64(seed:)`, unmixed: the state format checkpoints hold).
/// Its whole state is four words, so it fits in a checkpoint's metadata and restores exactly.
public struct OrderRNG: RandomNumberGenerator, Equatable, Sendable {
    private var generator: Xoshiro256

    public init(seed: UInt64) {
        var s = SplitMix64(seed: seed)
        generator = Xoshiro256(state: (s.next(), s.next(), s.next(), s.next()))
    }
    public init(state: (UInt64, UInt64, UInt64, UInt64)) { generator = Xoshiro256(state: state) }

    public var state: (UInt64, UInt64, UInt64, UInt64) { generator.state }
    public mutating func next() -> UInt64 { generator.next() }
    /// A uniform integer in 0..<n (Lemire's multiply-shift with rejection: unbiased, portable).
    public mutating func below(_ n: Int) -> Int { generator.nextInt(below: n) }
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
        self.init(state: (parts[0], parts[1], parts[2], parts[3]))
    }
}

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
