import ArgumentParser

struct IRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ir", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'vsc ir' is not implemented yet") }
}
