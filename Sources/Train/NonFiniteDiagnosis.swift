// Finding the first node that produced a NaN or an infinity, by replaying from the last checkpoint.

import Data
import Foundation
import IR
import Models
import Passes
import Runtime

extension Trainer {
    /// A step produced a non-finite loss term. Replays from the last checkpoint's state (held in
    /// memory; the file is untouched) to find the first iteration whose outputs — loss terms or
    /// updated parameters — are non-finite, re-runs it with the program's NaN/Inf check on, and
    /// throws an error naming the node (its IR line with the Swift source location) and the
    /// iteration.
    func diagnoseNonFinite(_ bad: StepRecord) throws -> Never {
        let terms = bad.termsText()
        let ckNote = checkpointNote
        guard let anchor else { throw TrainError("non-finite loss at iteration \(bad.iteration) (\(terms)); \(ckNote)", iteration: bad.iteration) }
        do {
            // Pass 1: the first iteration with any non-finite output.
            try restore(anchor)
            var first = bad.iteration
            while iteration < bad.iteration {
                let r = try step(checkFinite: false)
                if !r.isFinite || !outputsFinite() { first = r.iteration; break }
            }
            // Pass 2: replay up to it, then run it with the check on.
            try restore(anchor)
            while iteration < first - 1 { _ = try step(checkFinite: false) }
            do {
                _ = try step(checkFinite: true)
            } catch let e as RuntimeError {
                throw TrainError("training stopped at iteration \(first): \(e.message)\n  loss terms at iteration \(bad.iteration): \(terms)\n  \(ckNote)",
                                 iteration: first, node: e.node)
            }
            throw TrainError("non-finite loss at iteration \(bad.iteration) (\(terms)); replaying it with NaN/Inf checks did not reproduce it; \(ckNote)",
                             iteration: bad.iteration)
        }
    }

    func outputsFinite() -> Bool {
        for o in stepGraph.outputs {
            guard let v = program.output(o.name) else { continue }
            for x in v where !x.isFinite { return false }
        }
        return true
    }
}
