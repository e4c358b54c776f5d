import Foundation

/// The signal number of a pending stop request (0: none). Written only by `requestStop`, which
/// the signal handler calls: a plain store of a word-sized value is all a handler may do.
nonisolated(unsafe) private var pendingStopSignal: sig_atomic_t = 0

/// SIGINT / SIGTERM during `vsc train`: the first one asks the trainer to stop at the end of the
/// current iteration, write a checkpoint and exit, so the run can be continued with `--resume`
/// bit for bit; a second one (the user insists) terminates at once with the default action.
public enum TrainingInterrupt {
    public static let signals: [Int32] = [SIGINT, SIGTERM]

    /// Installs the handlers (once per process; the CLI does this before training).
    public static func installHandlers() {
        for s in signals {
            signal(s) { sig in
                if pendingStopSignal != 0 { signal(sig, SIG_DFL); raise(sig); return }
                TrainingInterrupt.requestStop(sig)
            }
        }
    }
    /// What the handler does; also callable directly (tests).
    public static func requestStop(_ sig: Int32 = SIGINT) { pendingStopSignal = sig_atomic_t(sig) }
    /// The pending signal, if any: the trainer's `stopRequested` check.
    public static var pendingSignal: Int32? { pendingStopSignal == 0 ? nil : Int32(pendingStopSignal) }
    public static func reset() { pendingStopSignal = 0 }

    /// "SIGINT", "SIGTERM", or "signal N".
    public static func name(_ sig: Int32) -> String {
        switch sig {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(sig)"
        }
    }
}
