import ArgumentParser

extension IRCommand {
    struct Grad: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(not yet implemented)")
        func run() throws { throw ValidationError("'vsc ir grad' is not implemented yet") }
    }
}
