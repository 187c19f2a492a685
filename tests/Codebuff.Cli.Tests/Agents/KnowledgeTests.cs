using Codebuff.Cli.Tests.Infrastructure;
using Spectre.Console.Testing;

namespace Codebuff.Cli.Tests.Agents;

/// <summary>
/// Knowledge files reach the model as upstream reads them: one per folder from the project root to the working folder
/// (knowledge.md before AGENTS.md before CLAUDE.md before *.knowledge.md) and one of the home folder, in the root
/// agent's system prompt, secrets left out, capped, reported as one --json event and listed by --help and /init.
/// </summary>
public sealed class KnowledgeTests(CliFixture server) : IClassFixture<CliFixture>
{
    const string PrivateKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAknowledgeKEY\n-----END RSA PRIVATE KEY-----\n";

    [Fact]
    public async Task The_knowledge_on_the_way_to_the_working_folder_and_of_home_reaches_the_root_agent_and_secrets_do_not()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write("knowledge.md", "ROOT_RULE: run make test.");
        cli.Write("AGENTS.md", "ROOT_AGENTS_NOT_READ");
        cli.Write("src/AGENTS.md", "SRC_AGENTS_RULE");
        cli.Write("src/CLAUDE.md", "SRC_CLAUDE_NOT_READ");
        cli.Write("src/api/notes.knowledge.md", "API_NOTES\n" + PrivateKey);
        cli.Write("other/knowledge.md", "OTHER_FOLDER_NOT_READ");
        File.WriteAllText(Path.Combine(cli.Home, ".AGENTS.md"), "HOME_AGENTS_RULE");
        File.WriteAllText(Path.Combine(cli.Home, ".CLAUDE.md"), "HOME_CLAUDE_NOT_READ");
        Directory.CreateDirectory(Path.Combine(cli.Project, "src", "api"));
        cli.WorkingDirectory = Path.Combine(cli.Project, "src", "api");
        var nonce = Guid.NewGuid().ToString("N");

        var result = await cli.RunAsync(["-p", "--json", "--cwd", cli.Project, "--agent", "tester",
            $"Task {nonce} [[spawn:helper]] [[tool:spawn_agents {{\"agents\":[{{\"agent_type\":\"helper\"}}]}}]] [[reply:ok]]"]);

        Assert.True(result.ExitCode == 0, result.Error);
        var events = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var knowledge = events.Single(e => (string?)e["type"] == "knowledge");
        Assert.Same(events[0], knowledge);
        var files = knowledge["files"]!.AsArray().Select(f => ((string?)f!["path"], (int)f["chars"]!, (string?)f["skipped"])).ToList();
        Assert.Equal([("knowledge.md", 25, null), ("src/AGENTS.md", 15, null), ("src/api/notes.knowledge.md", 0, "blocked: may hold secrets"), ("~/.AGENTS.md", 16, null)], files);
        Assert.Equal((56, 32000), ((int)knowledge["totalChars"]!, (int)knowledge["maxChars"]!));

        var requests = server.Llm.Requests().Where(r => r.ToJsonString().Contains(nonce)).ToList();
        var rootSystem = (string)requests.First()["messages"]![0]!["content"]!;
        Assert.Contains("```knowledge.md\nROOT_RULE: run make test.\n```", rootSystem);
        Assert.Contains("```src/AGENTS.md\nSRC_AGENTS_RULE\n```", rootSystem);
        Assert.Contains("```~/.AGENTS.md\nHOME_AGENTS_RULE\n```", rootSystem);
        Assert.True(rootSystem.IndexOf("ROOT_RULE", StringComparison.Ordinal) < rootSystem.IndexOf("SRC_AGENTS_RULE", StringComparison.Ordinal));
        var everything = string.Join('\n', server.Llm.Requests().Select(r => r.ToJsonString()));
        foreach (var absent in new[] { "ROOT_AGENTS_NOT_READ", "SRC_CLAUDE_NOT_READ", "OTHER_FOLDER_NOT_READ", "HOME_CLAUDE_NOT_READ", "API_NOTES", "knowledgeKEY" })
            Assert.DoesNotContain(absent, everything);
        // The sub-agent has no placeholder for it and is not the root: its context stays without the knowledge.
        var helper = server.Llm.Requests().Last(r => r["messages"]!.AsArray().Any(m => (string?)m!["content"] == "Say hello to the parent."));
        Assert.DoesNotContain("ROOT_RULE", (string)helper["messages"]![0]!["content"]!);
    }

    [Fact]
    public async Task Knowledge_is_capped_a_placeholder_places_it_and_help_and_init_list_the_files()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write("knowledge.md", new string('k', 40_000) + "TAIL_BEYOND_THE_CAP");
        File.WriteAllText(Path.Combine(cli.Home, ".knowledge.md"), "HOME_AFTER_THE_CAP");
        cli.Write(".agents/placed.json", """
            { "id": "placed", "displayName": "Placed", "model": "test/fake-model", "toolNames": ["end_turn"],
              "systemPrompt": "BEFORE {CODEBUFF_KNOWLEDGE_FILES_CONTENTS} AFTER" }
            """);
        var nonce = Guid.NewGuid().ToString("N");

        var result = await cli.RunAsync(["-p", "--json", "--agent", "placed", $"Task {nonce} [[reply:ok]]"]);

        Assert.True(result.ExitCode == 0, result.Error);
        var knowledge = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).First();
        Assert.Equal("knowledge", (string?)knowledge["type"]);
        var root = knowledge["files"]![0]!;
        Assert.Equal((32_000, true), ((int)root["chars"]!, (bool)root["truncated"]!));
        Assert.Equal("over the 32,000-character cap", (string?)knowledge["files"]![1]!["skipped"]);
        var system = (string)server.Llm.Requests().Single(r => r.ToJsonString().Contains(nonce))["messages"]![0]!["content"]!;
        Assert.StartsWith("BEFORE # Knowledge files", system);
        Assert.Contains("read the file for the rest]\n``` AFTER", system);
        Assert.DoesNotContain("TAIL_BEYOND_THE_CAP", system);
        Assert.DoesNotContain("HOME_AFTER_THE_CAP", system);
        Assert.Equal(1, system.Split("BEFORE").Length - 1);

        var help = await cli.RunAsync(["--help"]);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Knowledge files (the agent's context; at most 32,000 characters together)", help.Out);
        Assert.Contains("knowledge.md: 32,000 characters, cut at the cap", help.Out);
        Assert.Contains("~/.knowledge.md: not read, over the 32,000-character cap", help.Out);

        var console = new TestConsole().Width(200);
        var init = await cli.RunAsync(["--agent", "placed"], "/init\n/exit\n", console: console);
        Assert.Equal(0, init.ExitCode);
        Assert.Contains("Knowledge files read into the agent's context:", console.Output);
        Assert.Contains("knowledge.md: 32,000 characters, cut at the cap", console.Output);
    }
}
