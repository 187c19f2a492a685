using Codebuff.Cli.Tests.Infrastructure;

namespace Codebuff.Cli.Tests.Runs;

/// <summary>The command line as typed: prompts are never taken for commands, --json is plain UTF-8, and a rejected
/// login says which credential was sent.</summary>
public sealed class CommandLineTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Prompts_are_never_taken_for_commands_or_directives()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        string[][] prompts =
        [
            ["[[reply:Bracketed.]]", "-p", "--agent", "tester"],
            ["@alice", "[[reply:Mention.]]", "-p", "--agent", "tester"],
            ["-p", "--agent", "tester", "fix", "the", "undo", "command", "[[reply:Words.]]"],
            ["-p", "--agent", "tester", "login", "page", "[[reply:Login page.]]"],
            ["-p", "--agent", "tester", "--", "--help", "usage", "[[reply:Dashes.]]"],
            ["--", "whoami", "[[reply:After the separator.]]", "-p", "--agent", "tester"],
        ];
        foreach (var (args, answer) in prompts.Zip(["Bracketed.", "Mention.", "Words.", "Login page.", "Dashes.", null]))
        {
            var result = await cli.RunAsync(args);
            if (answer is null)
            {
                // After "--" even "-p" is prompt text: the interactive mode starts, with nobody at the keyboard.
                Assert.DoesNotContain("Unrecognized", result.Error);
                continue;
            }
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result.Error}");
            Assert.Equal(answer, result.Out.Trim());
        }
    }

    [Fact]
    public async Task Json_output_is_plain_utf8()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var result = await cli.RunAsync(["-p", "--json", "--agent", "tester", """[[reply:Say "héllo" <b> & 'bye' — ✓]]"""]);

        Assert.True(result.ExitCode == 0, result.Error);
        var final = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.Contains("""
            "output":"Say \"héllo\" <b> & 'bye' — ✓"
            """, final);
        Assert.DoesNotContain("\\u", result.Out);
    }

    [Fact]
    public async Task A_rejected_login_names_the_variable_or_the_file_that_was_sent()
    {
        using var cli = new CodebuffCli(server.BaseAddress.ToString(), "cb-not-a-real-key");
        ProjectSetup.AddAgents(cli);
        var byVariable = await cli.RunAsync(["-p", "--agent", "tester", "hi"]);
        Assert.Equal(3, byVariable.ExitCode);
        Assert.Contains("The credential sent was the CODEBUFF_API_KEY environment variable", byVariable.Error);
        var whoami = await cli.RunAsync(["whoami"]);
        Assert.Equal(3, whoami.ExitCode);
        Assert.Contains("CODEBUFF_API_KEY", whoami.Error);

        Directory.CreateDirectory(Path.GetDirectoryName(cli.CredentialsPath)!);
        File.WriteAllText(cli.CredentialsPath, """{"default":{"id":"u","name":"","email":"e@example.com","authToken":"stale-token","fingerprintId":"f","fingerprintHash":"h"}}""");
        var byFile = await cli.RunAsync(["usage"]);
        Assert.Equal(3, byFile.ExitCode);
        Assert.Contains($"The credential sent was the login saved in {cli.CredentialsPath}.", byFile.Error);
    }
}
