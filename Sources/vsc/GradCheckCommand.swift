import ArgumentParser

struct GradCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gradcheck", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("'vsc gradcheck' is not implemented yet") }
}
