using Codebuff.Cli.Tools;

namespace Codebuff.Cli.Tests.Tools;

/// <summary>code_search answers the same with ripgrep and with the in-process fallback: same files (hidden, ignored,
/// secret, globs, types), same lines, same layout, same order.</summary>
public sealed class CodeSearchTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("cb-search-").FullName;

    void Write(string relative, string content)
    {
        var full = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
    }

    [RipgrepFact]
    public async Task Ripgrep_and_the_fallback_give_the_same_answers()
    {
        Write(".gitignore", "build/\n*.log\n/generated\n");
        Write("src/App.cs", "using System;\nclass App\n{\n    // Needle in the app\n    string needle = \"needles\";\n}\n");
        Write("src/Lib/Util.cs", "// needle too\nstatic class Util { }\n");
        Write("src/Lib/util.ts", "export const needle = 1;\n");
        Write("src/generated/keep.cs", "// needle (generated is anchored at the root, so this one counts)\n");
        Write("generated/drop.cs", "// needle\n");
        Write("build/out.cs", "// needle in build output\n");
        Write("debug.log", "needle in a log\n");
        Write(".env.local", "needle=secret\n");
        Write(".env.example", "needle=example\n");
        Write(".github/workflows/ci.yml", "run: echo needle\n");
        Write("keys/deploy", "-----BEGIN RSA PRIVATE KEY-----\nneedle\n-----END RSA PRIVATE KEY-----\n");
        Write("docs/a b.md", "multi\nline needle\nend\n");
        File.WriteAllBytes(Path.Combine(_root, "blob.bin"), [0x6e, 0x65, 0x65, 0x64, 0x6c, 0x65, 0, 1, 2]);
        Directory.CreateDirectory(Path.Combine(_root, ".git"));
        Write(".git/HEAD", "needle\n");
        var files = new ProjectFiles(_root);
        var rg = RipgrepFactAttribute.Path!;

        JsonObject[] inputs =
        [
            new() { ["pattern"] = "needle" },
            new() { ["pattern"] = "NEEDLE", ["flags"] = "-i" },
            new() { ["pattern"] = "needle", ["flags"] = "-S -w" },
            new() { ["pattern"] = "Needle", ["flags"] = "--smart-case" },
            new() { ["pattern"] = "needle", ["flags"] = "-g '*.cs' -g '!src/Lib/**'" },
            new() { ["pattern"] = "needle", ["flags"] = "-t ts -t md" },
            new() { ["pattern"] = "needle", ["flags"] = "-T cs" },
            new() { ["pattern"] = "needle", ["flags"] = "-C1 -m 1" },
            new() { ["pattern"] = "\"needles\"", ["flags"] = "-F" },
            new() { ["pattern"] = "line needle$", ["flags"] = "-x" },
            new() { ["pattern"] = "multi\\nline", ["flags"] = "-U" },
            new() { ["pattern"] = "needle", ["cwd"] = "src", ["flags"] = "-g 'Lib/*'" },
            new() { ["pattern"] = "needle", ["maxResults"] = 1 },
            new() { ["pattern"] = "(unclosed" },
        ];
        foreach (var input in inputs)
        {
            var withRg = await CodeSearch.RunAsync(files, input, rg, CancellationToken.None);
            var without = await CodeSearch.RunAsync(files, input, null, CancellationToken.None);
            if (withRg["errorMessage"] is not null)
            {
                Assert.True(without["errorMessage"] is not null, $"{input.ToJsonString()}: only ripgrep refused it");
                continue;
            }
            Assert.True(withRg.ToJsonString() == without.ToJsonString(), $"{input.ToJsonString()}:\nripgrep:  {withRg.ToJsonString()}\nfallback: {without.ToJsonString()}");
        }

        var all = (string)(await CodeSearch.RunAsync(files, inputs[0], rg, CancellationToken.None))["stdout"]!;
        Assert.Equal("""
            .env.example:1:needle=example
            .github/workflows/ci.yml:1:run: echo needle
            docs/a b.md:2:line needle
            src/App.cs:5:    string needle = "needles";
            src/Lib/Util.cs:1:// needle too
            src/Lib/util.ts:1:export const needle = 1;
            src/generated/keep.cs:1:// needle (generated is anchored at the root, so this one counts)
            """.ReplaceLineEndings("\n"), all);
        Assert.Contains("docs/a b.md-1-multi\ndocs/a b.md:2:line needle\ndocs/a b.md-3-end\n--\nsrc/App.cs-4-    // Needle in the app\nsrc/App.cs:5:    string needle = \"needles\";\nsrc/App.cs-6-}\n--\n",
            (string?)(await CodeSearch.RunAsync(files, inputs[7], rg, CancellationToken.None))["stdout"]);
        Assert.Equal("docs/a b.md:1:multi\ndocs/a b.md:2:line needle", (string?)(await CodeSearch.RunAsync(files, inputs[10], rg, CancellationToken.None))["stdout"]);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}

/// <summary>A test that compares against ripgrep: skipped (with the reason) only where rg is not installed.</summary>
public sealed class RipgrepFactAttribute : FactAttribute
{
    /// <summary>rg on PATH, whatever CODEBUFF_RIPGREP says (these tests compare both engines in every run).</summary>
    public static string? Path { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(d => System.IO.Path.Combine(d, "rg")).FirstOrDefault(File.Exists);

    public RipgrepFactAttribute()
    {
        if (Path is null) Skip = "ripgrep is not installed (run-tests.sh installs it)";
    }
}
