import Testing
@testable import Data

@Suite struct DataSourceTests {
    @Test func resolvesNames() throws {
        let s = try DataSource.load("smiley:20")
        #expect(s.count == 20 && s.x == Smiley.generate(count: 20, seed: 1).x)
        let t = try DataSource.load("smiley:5", split: .test)
        #expect(t.x == Smiley.generate(count: 5, seed: 2).x)
        #expect(dataError { try DataSource.load("smiley:zero") } != nil)
        #expect(dataError { try DataSource.load("uci-har") }?.description.contains("har:DIR") == true)
        let e = try #require(dataError { try DataSource.load("no-such-thing") })
        #expect(e.description.contains("no-such-thing"))
    }

    @Test func resolvesFilesAndFolders() throws {
        let dir = makeTempDir(); defer { removeDir(dir) }
        let d = Smiley.generate(count: 3, seed: 4)
        try DatasetFile.write(d, to: dir + "/set.bin")
        #expect(try DataSource.load(dir + "/set.bin").x == d.x)
        try writeGzipFile(dir + "/train-images-idx3-ubyte.gz", idxImages(n: 2, h: 2, w: 2))
        try writeGzipFile(dir + "/train-labels-idx1-ubyte.gz", idxLabels([4, 5]))
        let f = try DataSource.load(dir)
        #expect(f.count == 2 && f.labels! == [4, 5] && f.name == "fashion-mnist/train")
        let g = try DataSource.load("fashion-mnist:" + dir)
        #expect(g.x == f.x)
    }
}

/// The data-set table: every name and alias resolves to its row, the Smiley row loads examples of
/// its declared size, and the help and error texts list every data set.
@Suite struct DataSetTableTests {
    @Test(arguments: DataSetName.allCases)
    func namesAndAliasesResolve(_ d: DataSetName) {
        #expect(DataSetName(named: d.rawValue) == d)
        #expect(DataSetName(named: d.rawValue.uppercased()) == d)
        for a in d.descriptor.aliases { #expect(DataSetName(named: a) == d, "alias \(a)") }
        #expect(DataSetName.helpText.contains("`\(d.rawValue)`") && DataSetName.namesText.contains(d.rawValue))
    }

    @Test func noAliasIsClaimedTwice() {
        let all = DataSetName.allCases.flatMap { [$0.rawValue] + $0.descriptor.aliases }
        #expect(Set(all).count == all.count)
        #expect(DataSetName(named: "mnist") == nil)
    }

    @Test func smileyRowLoadsItsInputSize() throws {
        let s = try DataSource.load("smiley:3")
        #expect(s.count == 3 && s.dim == DataSetName.smiley.descriptor.inputDim)
        #expect(throws: DataError.self) { try DataSource.load("har") }
    }
}
