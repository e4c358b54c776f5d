import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files of a run folder, named once: the trainer writes them, `vsc eval RUN` reads them.
public enum RunFiles {
    public static let checkpoint = "checkpoint.safetensors"
    public static let metrics = "metrics.jsonl"
    /// The checkpoint of the run folder `folder`.
    public static func checkpoint(in folder: String) -> String { (folder as NSString).appendingPathComponent(checkpoint) }
}

/// An exclusive lock on a run folder (`flock` on `<folder>/.lock`) held while `vsc train`
/// writes into it: a second run into the same folder fails at once with a message instead of
/// interleaving its checkpoints and metrics with the first's. The kernel drops the lock when
/// the process dies, however it dies, so a crash never leaves the folder locked.
public final class RunFolderLock {
    let fd: Int32
    public let path: String

    public init(folder: String) throws {
        path = folder + "/.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainError("\(path): cannot open the run folder's lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            close(fd)
            throw TrainError(busy ? "\(folder): another training run is writing into this folder (it holds \(path)); wait for it or choose another --out"
                                  : "\(path): cannot lock the run folder: \(String(cString: strerror(errno)))")
        }
    }

    public func release() { flock(fd, LOCK_UN); close(fd) }
}
