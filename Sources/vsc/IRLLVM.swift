import ArgumentParser

extension IRCommand {
    struct LLVM: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "(not yet implemented)")
        func run() throws { throw ValidationError("'vsc ir llvm' is not implemented yet") }
    }
}
