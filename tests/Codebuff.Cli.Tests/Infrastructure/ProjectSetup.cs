using System.Diagnostics;

namespace Codebuff.Cli.Tests.Infrastructure;

/// <summary>Test projects: a git repository with local agents driven by the fake LLM.</summary>
public static class ProjectSetup
{
    public const string Model = "test/fake-model";

    public static void InitGit(string dir)
    {
        foreach (var args in new[] { "init -q", "-c user.name=t -c user.email=t@example.com commit -q --allow-empty -m init" })
        {
            using var p = Process.Start(new ProcessStartInfo("git", args) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.WaitForExit();
        }
    }

    /// <summary>An agent definition in .agents/ with every local tool, able to spawn <c>helper</c>.</summary>
    public static void AddAgents(CodebuffCli cli, string model = Model, string? handleSteps = null)
    {
        var tester = new JsonObject
        {
            ["id"] = "tester", ["displayName"] = "Tester", ["model"] = model,
            ["toolNames"] = new JsonArray("spawn_agents", "read_files", "write_file", "str_replace", "run_terminal_command", "code_search",
                "list_directory", "glob", "think_deeply", "write_todos", "ask_user", "set_output", "end_turn"),
            ["spawnableAgents"] = new JsonArray("helper"),
            ["systemPrompt"] = "You are a test agent.",
        };
        if (handleSteps is not null) tester["handleSteps"] = handleSteps;
        cli.Write(".agents/tester.json", tester.ToJsonString());
        cli.Write(".agents/helpers/helper.yaml", $"""
            id: helper
            displayName: Helpful Helper
            model: {model}
            toolNames: [end_turn]
            spawnerPrompt: Says hello
            includeMessageHistory: false
            """);
    }

    /// <summary>The tool results the provider received in the last request of the prompt holding <paramref name="nonce"/>.</summary>
    public static IReadOnlyList<string> ToolResults(FakeLlm llm, string nonce) =>
        llm.Requests().Where(r => r["messages"]!.ToJsonString().Contains(nonce)).Last()["messages"]!.AsArray()
            .Where(m => (string?)m!["role"] == "tool").Select(m => (string)m!["content"]!).ToArray();
}
