using Codebuff.Cli.Tests.Infrastructure;

namespace Codebuff.Cli.Tests.Tools;

/// <summary>apply_patch with the SDK 0.10 input shape: creates, patches and deletes through the project's checks and the
/// edit journal, so codebuff undo puts everything back.</summary>
public sealed class ApplyPatchTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Patches_create_update_and_delete_are_checked_like_write_file_and_undone_by_undo()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        ProjectSetup.InitGit(cli.Project);
        cli.Write("lib/fib.py", "def fib(n):\n    if n <= 1:\n        return n\n    return fib(n-1) + fib(n-2)\n");
        cli.Write("crlf.txt", "one\r\ntwo\r\nthree\r\n");
        cli.Write("old.txt", "to be deleted\n");
        cli.Write(".agents/patcher.json", """
            { "id": "patcher", "displayName": "Patcher", "model": "test/fake-model", "toolNames": ["apply_patch", "end_turn"] }
            """);
        var gitConfig = cli.File(".git/config");
        var outside = Path.Combine(Path.GetDirectoryName(cli.Project)!, $"outside-{Guid.NewGuid():N}.txt");
        File.WriteAllText(outside, "outside\n");
        var nonce = Guid.NewGuid().ToString("N");
        string Op(string json) => $"[[tool:apply_patch {{\"operation\":{json}}}]]";
        var prompt = string.Join(' ', $"Task {nonce}",
            Op("""{"type":"create_file","path":"hello/new.txt","diff":"@@\n+Hello world\n+second\n"}"""),
            Op("""{"type":"update_file","path":"lib/fib.py","diff":"@@\n-def fib(n):\n+def fibonacci(n):\n     if n <= 1:\n         return n\n-    return fib(n-1) + fib(n-2)\n+    return fibonacci(n-1) + fibonacci(n-2)\n"}"""),
            Op("""{"type":"update_file","path":"crlf.txt","diff":"@@ one\n-two\n+TWO\n"}"""),
            Op("""{"type":"delete_file","path":"old.txt"}"""),
            Op($$"""{"type":"update_file","path":"../{{Path.GetFileName(outside)}}","diff":"@@\n-outside\n+pwned\n"}"""),
            Op("""{"type":"create_file","path":".git/hooks/pre-commit","diff":"+#!/bin/sh\n+echo pwned\n"}"""),
            Op("""{"type":"update_file","path":"lib/fib.py","diff":"@@\n-no such line\n+x\n"}"""),
            "[[reply:patched]]");

        var result = await cli.RunAsync(["-p", "--agent", "patcher", prompt]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("Hello world\nsecond\n", cli.File("hello/new.txt"));
        Assert.Equal("def fibonacci(n):\n    if n <= 1:\n        return n\n    return fibonacci(n-1) + fibonacci(n-2)\n", cli.File("lib/fib.py"));
        Assert.Equal("one\r\nTWO\r\nthree\r\n", cli.File("crlf.txt"));
        Assert.False(File.Exists(Path.Combine(cli.Project, "old.txt")));
        Assert.Equal("outside\n", File.ReadAllText(outside));
        File.Delete(outside);
        Assert.False(File.Exists(Path.Combine(cli.Project, ".git/hooks/pre-commit")));
        Assert.Equal(gitConfig, cli.File(".git/config"));

        var results = ProjectSetup.ToolResults(server.Llm, nonce).Select(r => JsonNode.Parse(r)!).ToList();
        Assert.Equal(7, results.Count);
        Assert.Equal(["add", "update", "update", "delete"], results.Take(4).Select(r => (string?)r["applied"]![0]!["action"]));
        Assert.All(results.Take(4), r => Assert.Equal("Applied 1 patch operation.", (string?)r["message"]));
        Assert.Contains("+def fibonacci(n):", (string?)results[1]["unifiedDiff"]);
        Assert.StartsWith("[FILE_OUTSIDE_PROJECT]", (string?)results[4]["errorMessage"]);
        Assert.StartsWith("[VERSION_CONTROL]", (string?)results[5]["errorMessage"]);
        Assert.StartsWith("Failed to apply patch to lib/fib.py.", (string?)results[6]["errorMessage"]);

        var undo = await cli.RunAsync(["undo", "--yes"]);
        Assert.True(undo.ExitCode == 0, undo.Error);
        Assert.Contains("Restored 4 files", undo.Console);
        Assert.False(File.Exists(Path.Combine(cli.Project, "hello/new.txt")));
        Assert.Equal("def fib(n):\n    if n <= 1:\n        return n\n    return fib(n-1) + fib(n-2)\n", cli.File("lib/fib.py"));
        Assert.Equal("one\r\ntwo\r\nthree\r\n", cli.File("crlf.txt"));
        Assert.Equal("to be deleted\n", cli.File("old.txt"));
    }
}
