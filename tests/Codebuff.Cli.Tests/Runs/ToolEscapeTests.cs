using System.Diagnostics;
using Codebuff.Cli.Tests.Infrastructure;

namespace Codebuff.Cli.Tests.Runs;

/// <summary>
/// Tool calls a steered model might make to leave the project, scripted through the fake LLM: search flags that add
/// paths or run programs, writes into .git and through links, credentials by name and by content. Nothing outside
/// the project is read or written, and no secret reaches the provider.
/// </summary>
public sealed class ToolEscapeTests(CliFixture server) : IClassFixture<CliFixture>, IDisposable
{
    readonly string _outside = Directory.CreateTempSubdirectory("cb-outside-").FullName;

    string Sent() => string.Join('\n', server.Llm.Requests().Select(r => r.ToJsonString()));

    static string Tool(string name, JsonObject input) => $"[[tool:{name} {input.ToJsonString()}]]";

    string[] OutsideFiles() => Directory.EnumerateFileSystemEntries(_outside, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public async Task Search_flags_that_add_paths_or_run_programs_are_refused_and_nothing_outside_is_read()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var secret = "OUTSIDE_" + Guid.NewGuid().ToString("N");
        var notes = Path.Combine(_outside, "notes.txt");
        File.WriteAllText(notes, secret + "\n");
        var marker = Path.Combine(_outside, "pre-ran");
        var pre = Path.Combine(_outside, "pre.sh");
        File.WriteAllText(pre, $"#!/bin/sh\ntouch {marker}\ncat \"$1\"\n");
        File.SetUnixFileMode(pre, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        cli.Write("src/App.cs", "class App { } // mentions OUTSIDE_ here\nclass Other { }\n");
        var attacks = new[]
        {
            $"-e . {notes}", notes, $"-i {_outside}", $"-f {notes}", $"--pre {pre}", $"--pre={pre}", "--pre-glob=*", $"-z -L --no-ignore",
            $"-g ../{Path.GetFileName(_outside)}/*", "--glob=../**", "--files", "--no-config",
        };
        var nonce = Guid.NewGuid().ToString("N");
        var prompt = nonce + " " + string.Join(' ', attacks.Select(f => Tool("code_search", new JsonObject { ["pattern"] = "OUTSIDE_", ["flags"] = f })))
                     + " " + Tool("code_search", new JsonObject { ["pattern"] = "outside_", ["flags"] = "-i -w -g '*.cs' -C 1" });

        var result = await cli.RunAsync(["-p", "--agent", "tester", prompt]);

        Assert.True(result.ExitCode == 0, result.Error);
        var results = ProjectSetup.ToolResults(server.Llm, nonce).Select(r => JsonNode.Parse(r)!).ToList();
        Assert.Equal(attacks.Length + 1, results.Count);
        for (var i = 0; i < attacks.Length; i++)
        {
            Assert.True(results[i]["stdout"] is null, $"flags \"{attacks[i]}\" were run: {results[i].ToJsonString()}");
            Assert.NotNull((string?)results[i]["errorMessage"]);
        }
        Assert.Equal("src/App.cs:1:class App { } // mentions OUTSIDE_ here\nsrc/App.cs-2-class Other { }", (string?)results[^1]["stdout"]);
        Assert.DoesNotContain(secret, Sent());
        Assert.False(File.Exists(marker), "a --pre program ran");
    }

    [Fact]
    public async Task File_tools_never_write_into_git_or_through_links_out_of_the_project()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        ProjectSetup.InitGit(cli.Project);
        var git = Path.Combine(cli.Project, ".git");
        var configBefore = File.ReadAllText(Path.Combine(git, "config"));
        var marker = Path.Combine(_outside, "fsmonitor-ran");
        var evil = $"[core]\n\tfsmonitor = \"touch {marker}; false\"\n";
        Directory.CreateSymbolicLink(Path.Combine(cli.Project, "gitlink"), ".git");
        File.CreateSymbolicLink(Path.Combine(cli.Project, "out.txt"), Path.Combine(_outside, "created-through-link.txt"));
        Directory.CreateSymbolicLink(Path.Combine(cli.Project, "elsewhere"), _outside);
        var nonce = Guid.NewGuid().ToString("N");
        var calls = new[]
        {
            Tool("write_file", new JsonObject { ["path"] = ".git/config", ["content"] = evil }),
            Tool("str_replace", new JsonObject { ["path"] = ".git/config", ["replacements"] = new JsonArray(new JsonObject { ["old"] = "[core]", ["new"] = evil }) }),
            Tool("write_file", new JsonObject { ["path"] = ".git/hooks/pre-commit", ["content"] = $"#!/bin/sh\ntouch {marker}\n" }),
            Tool("write_file", new JsonObject { ["path"] = "src/../.git/info/exclude", ["content"] = "*\n" }),
            Tool("write_file", new JsonObject { ["path"] = "gitlink/config", ["content"] = evil }),
            Tool("write_file", new JsonObject { ["path"] = "vendor/lib/.git/config", ["content"] = evil }),
            Tool("write_file", new JsonObject { ["path"] = ".hg/hgrc", ["content"] = "[hooks]\n" }),
            Tool("write_file", new JsonObject { ["path"] = "out.txt", ["content"] = "through a dangling link" }),
            Tool("write_file", new JsonObject { ["path"] = "elsewhere/planted.txt", ["content"] = "through a folder link" }),
            Tool("write_file", new JsonObject { ["path"] = $"../{Path.GetFileName(_outside)}/planted.txt", ["content"] = "up and out" }),
            Tool("write_file", new JsonObject { ["path"] = "src/fine.txt", ["content"] = "inside" }),
        };
        var result = await cli.RunAsync(["-p", "--agent", "tester", nonce + " " + string.Join(' ', calls)]);

        Assert.True(result.ExitCode == 0, result.Error);
        var results = ProjectSetup.ToolResults(server.Llm, nonce).Select(r => JsonNode.Parse(r)!).ToList();
        Assert.Equal(calls.Length, results.Count);
        Assert.All(results.Take(7), r => Assert.StartsWith("[VERSION_CONTROL]", (string?)r["errorMessage"]));
        Assert.All(results.Skip(7).Take(3), r => Assert.StartsWith("[FILE_OUTSIDE_PROJECT]", (string?)r["errorMessage"]));
        Assert.Equal("Created the file.", (string?)results[^1]["message"]);

        Assert.Equal(configBefore, File.ReadAllText(Path.Combine(git, "config")));
        Assert.False(File.Exists(Path.Combine(git, "hooks", "pre-commit")));
        Assert.False(Directory.Exists(Path.Combine(cli.Project, "vendor")));
        Assert.False(Directory.Exists(Path.Combine(cli.Project, ".hg")));
        Assert.Empty(OutsideFiles());
        // The user's next git command runs nothing the model wrote.
        using (var status = Process.Start(new ProcessStartInfo("git", "status --porcelain") { WorkingDirectory = cli.Project, RedirectStandardOutput = true })!)
        {
            Assert.Contains("src/", await status.StandardOutput.ReadToEndAsync());
            await status.WaitForExitAsync();
        }
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Credentials_by_name_or_content_are_never_read_searched_or_edited()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var id = Guid.NewGuid().ToString("N")[..12];
        var tokens = Enumerable.Range(0, 6).Select(i => $"TOKEN{i}x{id}").ToArray();
        cli.Write(".git-credentials", $"https://me:{tokens[0]}@github.com\n");
        cli.Write("config/credentials-prod.json", $$"""{"token":"{{tokens[1]}}"}""");
        cli.Write(".config/gh/hosts.yml", $"github.com:\n    oauth_token: {tokens[2]}\n");
        cli.Write(".pypirc", $"[pypi]\npassword = {tokens[3]}\n");
        cli.Write("deploy/server_key", $"-----BEGIN OPENSSH PRIVATE KEY-----\n{tokens[4]}\n-----END OPENSSH PRIVATE KEY-----\n");
        cli.Write("deploy/aws.ini", $"[default]\naws_secret_access_key = {tokens[5]}\n");
        File.CreateSymbolicLink(Path.Combine(cli.Project, "notes.txt"), ".git-credentials");
        cli.Write("readme.md", $"The tokens look like TOKEN1x{id[..4]}.\n");
        string[] secrets = [".git-credentials", "config/credentials-prod.json", ".config/gh/hosts.yml", ".pypirc", "deploy/server_key", "deploy/aws.ini", "notes.txt"];
        var nonce = Guid.NewGuid().ToString("N");
        var prompt = nonce + " "
            + Tool("read_files", new JsonObject { ["paths"] = new JsonArray(secrets.Select(s => (JsonNode?)s).ToArray()) })
            + Tool("code_search", new JsonObject { ["pattern"] = "TOKEN" })
            + Tool("code_search", new JsonObject { ["pattern"] = "TOKEN", ["flags"] = "-g '*' -g '.*' -C 3" })
            + Tool("str_replace", new JsonObject { ["path"] = "deploy/server_key", ["replacements"] = new JsonArray(new JsonObject { ["old"] = "OPENSSH", ["new"] = "X" }) })
            + Tool("write_file", new JsonObject { ["path"] = "deploy/aws.ini", ["content"] = "" })
            + Tool("list_directory", new JsonObject { ["path"] = ".config/gh" });

        var result = await cli.RunAsync(["-p", "--agent", "tester", prompt]);

        Assert.True(result.ExitCode == 0, result.Error);
        var results = ProjectSetup.ToolResults(server.Llm, nonce).Select(r => JsonNode.Parse(r)!).ToList();
        Assert.All(results[0].AsArray(), r => Assert.StartsWith("[BLOCKED]", (string?)r!["content"]));
        Assert.Equal($"readme.md:1:The tokens look like TOKEN1x{id[..4]}.", (string?)results[1]["stdout"]);
        Assert.Equal($"readme.md:1:The tokens look like TOKEN1x{id[..4]}.", (string?)results[2]["stdout"]);
        Assert.StartsWith("[BLOCKED]", (string?)results[3]["errorMessage"]);
        Assert.StartsWith("[BLOCKED]", (string?)results[4]["errorMessage"]);
        Assert.Equal("[]", results[5]["files"]!.ToJsonString());
        var sent = Sent();
        Assert.All(tokens, t => Assert.DoesNotContain(t, sent));
        Assert.Contains("aws_secret_access_key", File.ReadAllText(Path.Combine(cli.Project, "deploy/aws.ini")));
    }

    public void Dispose() => Directory.Delete(_outside, recursive: true);
}
