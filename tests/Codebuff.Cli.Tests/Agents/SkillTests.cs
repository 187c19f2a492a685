using Codebuff.Cli.Tests.Infrastructure;

namespace Codebuff.Cli.Tests.Agents;

/// <summary>Skills of .agents/skills (project and home) are offered through the skill tool as upstream offers them.</summary>
public sealed class SkillTests(CliFixture server) : IClassFixture<CliFixture>
{
    const string Release = "---\nname: git-release\ndescription: Cut a release & tag it\nlicense: MIT\n---\n# Releasing\nRun RELEASE_STEPS_123.\n";

    [Fact]
    public async Task Valid_skills_are_listed_in_the_skill_tool_and_loaded_by_name()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write(".agents/skills/git-release/SKILL.md", Release);
        cli.Write(".agents/skills/Bad_Name/SKILL.md", "---\nname: Bad_Name\ndescription: BAD_NAME_SKILL\n---\nx\n");
        cli.Write(".agents/skills/mismatch/SKILL.md", "---\nname: other-name\ndescription: MISMATCHED_SKILL\n---\nx\n");
        cli.Write(".agents/skills/no-front/SKILL.md", "NO_FRONT_MATTER_SKILL\n");
        var home = Path.Combine(cli.Home, ".agents", "skills", "home-skill");
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "SKILL.md"), "---\nname: home-skill\ndescription: From the home folder\n---\nHOME_SKILL_BODY\n");
        cli.Write(".agents/skiller.json", """
            { "id": "skiller", "displayName": "Skiller", "model": "test/fake-model", "toolNames": ["skill", "end_turn"] }
            """);
        var nonce = Guid.NewGuid().ToString("N");

        var result = await cli.RunAsync(["-p", "--agent", "skiller",
            $$"""Task {{nonce}} [[tool:skill {"name":"git-release"}]] [[tool:skill {"name":"nope"}]] [[reply:ok]]"""]);

        Assert.True(result.ExitCode == 0, result.Error);
        var request = server.Llm.Requests().Last(r => r.ToJsonString().Contains(nonce));
        var tool = request["tools"]!.AsArray().Single(t => (string?)t!["function"]!["name"] == "skill")!;
        var description = (string)tool["function"]!["description"]!;
        Assert.Contains("<available_skills>\n  <skill>\n    <name>git-release</name>\n    <description>Cut a release &amp; tag it</description>\n  </skill>\n" +
                        "  <skill>\n    <name>home-skill</name>\n    <description>From the home folder</description>\n  </skill>\n</available_skills>", description);
        foreach (var skipped in new[] { "BAD_NAME_SKILL", "MISMATCHED_SKILL", "no-front", "other-name" }) Assert.DoesNotContain(skipped, description);

        var results = ProjectSetup.ToolResults(server.Llm, nonce).Select(r => JsonNode.Parse(r)!).ToList();
        Assert.Equal(("git-release", "Cut a release & tag it", Release, "MIT"),
            ((string?)results[0]["name"], (string?)results[0]["description"], (string?)results[0]["content"], (string?)results[0]["license"]));
        Assert.Equal("Error: Skill 'nope' not found. Available skills: git-release, home-skill", (string?)results[1]["content"]);

        // An agent that does not list the tool is not offered it.
        var plain = await cli.RunAsync(["-p", "--agent", "tester", $"Other {nonce} [[reply:ok]]"]);
        Assert.Equal(0, plain.ExitCode);
        Assert.DoesNotContain(server.Llm.Requests().Last(r => r.ToJsonString().Contains("Other " + nonce))["tools"]!.AsArray(), t => (string?)t!["function"]!["name"] == "skill");
    }
}
