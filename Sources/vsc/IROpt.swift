import ArgumentParser

extension IRCommand {
    struct Opt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(not yet implemented)")
        func run() throws { throw ValidationError("'vsc ir opt' is not implemented yet") }
    }
}
