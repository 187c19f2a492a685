using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Cli.Tests.Infrastructure;

/// <summary>The real server on its own database, its LLM provider being fake-llm.mjs.</summary>
public sealed class CliFixture : ServerFixture
{
    public FakeLlm Llm { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Upstream:BaseUrl"] = Llm.BaseUrl;
        s["Codebuff:Upstream:ApiKey"] = "fake-provider-key";
        s["Codebuff:Upstream:ReportsCost"] = "true"; // fake-llm.mjs reports cost, as OpenRouter does
        return s;
    }

    public override async Task InitializeAsync()
    {
        await Llm.StartAsync();
        await base.InitializeAsync();
    }

    /// <summary>A user with credits and a CLI logged in as them (CODEBUFF_API_KEY), its project holding the test agents.</summary>
    public async Task<(TestUser User, CodebuffCli Cli)> NewProjectAsync(int? credits = 1000, string model = ProjectSetup.Model, string? handleSteps = null)
    {
        var user = await CreateUserAsync(credits);
        var cli = new CodebuffCli(BaseAddress.ToString(), user.ApiKey);
        ProjectSetup.AddAgents(cli, model, handleSteps);
        return (user, cli);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Llm.DisposeAsync();
    }
}
