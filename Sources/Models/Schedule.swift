/// The schedules of a run at one iteration (0-based):
/// - λ (spike warm-up, eq. 7 and Algorithm 1): 0 for the first `warmupIterations`, then rising
///   linearly to 1 over `rampIterations`, then 1. With no warm-up at all, λ = 1 throughout.
/// - c (the relaxed spike's sharpness, supplementary B.2): linear from `start` to `end` over
///   `iterations` (0: the whole run), then `end`; or fixed.
/// - the learning rate of the phase the iteration falls in.
public func schedule(_ spec: ModelSpec, iteration: Int) -> ScheduleValues {
    let s = spec.schedules
    let t = max(0, iteration)
    let lambda: Double
    if t < s.warmupIterations { lambda = 0 }
    else if s.rampIterations == 0 { lambda = 1 }
    else { lambda = min(1, Double(t - s.warmupIterations) / Double(s.rampIterations)) }

    let c: Double
    switch s.c {
    case .fixed(let v): c = v
    case .linear(let start, let end, let its):
        let n = its > 0 ? its : spec.iterations
        c = n <= 1 ? end : start + (end - start) * min(1, Double(t) / Double(n - 1))
    }
    func ramp(_ n: Int) -> Double { n > 0 ? min(1, Double(t) / Double(n)) : 1 }
    return ScheduleValues(lambda: lambda, c: c, learningRate: learningRate(spec, iteration: t),
                          regulariserWeight: ramp(s.regulariserWarmup), sparsityWeight: s.sparsityWarmup.map(ramp),
                          penaltyWeight: s.spikeLogitPenaltyDecay?.weight(at: t) ?? 1)
}

/// The learning rate of the phase `iteration` falls in (phases hold while iteration < until).
public func learningRate(_ spec: ModelSpec, iteration: Int) -> Double {
    let phases = spec.schedules.learningRate
    for p in phases { if let u = p.until, iteration < u { return p.lr } else if p.until == nil { return p.lr } }
    return phases.last?.lr ?? 1e-3
}

/// The index of the learning-rate phase `iteration` falls in (a change of index is a "drop": with
/// `freshAdamAtDrop` the training loop resets Adam's moments there).
public func learningRatePhase(_ spec: ModelSpec, iteration: Int) -> Int {
    let phases = spec.schedules.learningRate
    for (i, p) in phases.enumerated() { if let u = p.until, iteration < u { return i } else if p.until == nil { return i } }
    return max(0, phases.count - 1)
}
