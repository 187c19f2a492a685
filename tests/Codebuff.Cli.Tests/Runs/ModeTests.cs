using Codebuff.Cli.Runs;
using Codebuff.Cli.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Cli.Tests.Runs;

/// <summary>Every mode (clients.md §2.5) runs an agent the server seeds under publisher codebuff, with its cost mode.</summary>
public sealed class ModeTests(CliFixture server) : IClassFixture<CliFixture>
{
    public static TheoryData<string, string, string> Modes => new()
    {
        { "default", "base2", "anthropic/claude-sonnet-4.5" },
        { "free", "base2-free", "minimax/minimax-m2.5" },
        { "max", "base2-max", "anthropic/claude-opus-4.1" },
        { "plan", "base2-plan", "anthropic/claude-sonnet-4.5" },
    };

    [Fact]
    public void The_table_covers_every_mode()
    {
        Assert.Equal(Mode.All.Select(m => (m.Name.ToLowerInvariant(), m.AgentId)).Order(), Modes.Select(r => ((string)r[0], (string)r[1])).Order());
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Each_mode_runs_its_seeded_agent(string mode, string agentId, string model)
    {
        var (user, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var nonce = Guid.NewGuid().ToString("N")[..10];
        var result = await cli.RunAsync(["-p", "--mode", mode, $"hello-{nonce} [[reply:Answered in {mode}.]]"]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal($"Answered in {mode}.", result.Out.Trim());
        var request = server.Llm.Requests().Single(r => r["messages"]!.ToJsonString().Contains($"hello-{nonce}"));
        Assert.Equal(model, (string?)request["model"]);
        await using var db = server.NewDbContext();
        var run = await db.AgentRuns.AsNoTracking().SingleAsync(r => r.UserId == user.Id);
        Assert.StartsWith($"codebuff/{agentId}@", run.AgentId); // resolved from the server's seeded agents
        Assert.Equal(Path.GetFileName(cli.Project), await ProjectOfAsync(run.Id)); // codebuff_metadata.project_name, for /runs
        var expected = Mode.Find(mode)!;
        Assert.Equal(agentId, expected.AgentId);
        if (expected.CostMode == "free") // base2-free on its allow-listed model costs nothing in FREE mode (api.md §7.2)
            Assert.Equal(0, await db.Messages.Where(m => m.UserId == user.Id).SumAsync(m => m.Credits));
    }

    [Fact]
    public async Task An_unknown_mode_is_refused_in_a_sentence()
    {
        var (_, cli) = await server.NewProjectAsync(500);
        using var _ = cli;
        var result = await cli.RunAsync(["-p", "--mode", "turbo", "hi"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal("There is no mode \"turbo\"; the modes are default, free, max and plan.", result.Error.Trim());
    }

    /// <summary>The project the run's trace names (written just after the call, so waited for).</summary>
    async Task<string?> ProjectOfAsync(string runId)
    {
        for (var i = 0; ; i++)
        {
            await using var db = server.NewDbContext();
            var project = await db.Database.SqlQuery<string?>($"SELECT project AS \"Value\" FROM service.trace_step WHERE run_id = {runId} ORDER BY created_at LIMIT 1").ToListAsync();
            if (project.Count > 0 || i == 100) return project.FirstOrDefault();
            await Task.Delay(100);
        }
    }
}
