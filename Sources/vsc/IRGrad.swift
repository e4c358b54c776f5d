import ArgumentParser
import Foundation
import IR
import Passes

extension IRCommand {
    /// `vsc ir grad FILE --loss NAME --wrt a,b`: the forward graph plus its gradient nodes, as IR text.
    struct Grad: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Differentiate an IR file symbolically; print the forward+backward graph as IR text.",
            discussion: """
                The gradient of output NAME with respect to each --wrt leaf is appended to the graph \
                (reverse mode, one vector-Jacobian product per op) and named as output "grad.<leaf>". \
                Backward nodes carry the source location of the forward node they differentiate.

                Example:
                  vsc ir grad Samples/ir/mlp.ir --loss loss --wrt w1,b1
                """)
        @Argument(help: "The IR file.") var file: String
        @Option(help: "The output to differentiate (a scalar; a tensor is differentiated as its sum).")
        var loss: String = "loss"
        @Option(help: "Comma-separated parameter or input names (default: every parameter).")
        var wrt: String?
        @Flag(help: "Omit the // file:line source locations.") var noLocations = false

        func run() throws {
            let g = try loadIR(file)
            guard let lossID = g.output(loss) else {
                throw CLIError("\(file): error: no output named \"\(loss)\" (outputs: \(g.outputs.map(\.name).joined(separator: ", ")))")
            }
            let names = wrt.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? g.parameters.map(\.name)
            let ids = try names.map { n -> NodeID in
                guard let id = g.leaf(named: n) else {
                    throw CLIError("\(file): error: --wrt \(n): no parameter or input of that name (parameters: \(g.parameters.map(\.name).joined(separator: ", ")))")
                }
                return id
            }
            let grads: [NodeID]
            do { grads = try grad(of: lossID, wrt: ids, in: g) }
            catch let e as IRError { throw CLIError("\(file): \(e)") }
            for (n, gid) in zip(names, grads) { g.setOutput("grad." + n, gid) }
            print(IRPrinter.print(g, locations: !noLocations), terminator: "")
        }
    }
}
