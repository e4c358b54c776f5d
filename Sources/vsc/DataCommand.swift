import ArgumentParser

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'vsc data' is not implemented yet") }
}
