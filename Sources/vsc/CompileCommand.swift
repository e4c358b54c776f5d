import ArgumentParser

struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compile", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'vsc compile' is not implemented yet") }
}
