using System.Text.Json;
using System.Text.Json.Nodes;
using Codebuff.Cli.Agents;
using Codebuff.Cli.Api;
using Codebuff.Cli.Config;
using Codebuff.Cli.Tools;

namespace Codebuff.Cli.Runs;

/// <summary>
/// Runs prompts in one project for one chat: resolves the agent, runs the loop, and keeps the conversation in
/// <c>projects/&lt;project&gt;/chats/&lt;chatId&gt;/run-state.json</c> so <c>--continue</c> can pick it up.
/// </summary>
public sealed class PromptRunner : IDisposable
{
    readonly CliHost _host;
    readonly CliConfig _config;
    RunOptions _options;
    readonly string _chatDir;
    List<JsonObject> _history = [];

    public PromptRunner(CliHost host, RunOptions options, string agentId, string? continueChat, bool continueLatest)
    {
        _host = host;
        _config = new CliConfig(host);
        _options = options;
        AgentId = agentId;
        Api = new CodebuffApi(_config.AppUrl, _config.RequireToken());
        Agents = new AgentResolver(Api, LocalAgents.Load(options.ProjectRoot, host.Home));
        Files = new ProjectFiles(options.ProjectRoot);
        Prompter = new UserPrompter(host.Console, host.Interactive);
        var chats = _config.ChatsDir(options.ProjectRoot);
        if (continueChat is not null || continueLatest)
        {
            var name = continueChat ?? (Directory.Exists(chats) ? Directory.EnumerateDirectories(chats).Select(Path.GetFileName).Max(StringComparer.Ordinal) : null)
                ?? throw new CliException("There is no earlier chat in this project to continue.");
            var state = Path.Combine(chats, name, "run-state.json");
            if (!File.Exists(state)) throw new CliException($"There is no chat {name} in this project.");
            var saved = JsonNode.Parse(File.ReadAllText(state))!;
            _history = (saved["history"] as JsonArray ?? []).OfType<JsonObject>().Select(m => m.DeepClone().AsObject()).ToList();
            AgentId = (string?)saved["agentId"] ?? AgentId;
            _chatDir = Path.Combine(chats, name);
        }
        else _chatDir = Path.Combine(chats, DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH-mm-ss.fff'Z'"));
    }

    public CodebuffApi Api { get; }
    public AgentResolver Agents { get; }
    public ProjectFiles Files { get; }
    public UserPrompter Prompter { get; }
    public string AgentId { get; set; }
    public RunOptions Options => _options;
    public bool HasHistory => _history.Count > 0;
    /// <summary>Credits of every prompt run through this runner (the session total).</summary>
    public decimal SessionCredits { get; private set; }

    public void NewChat() => _history = [];

    public void SetMode(Mode mode)
    {
        AgentId = mode.AgentId;
        _options = _options with { CostMode = mode.CostMode };
    }

    /// <summary>Adds the balance to an out-of-credits failure (402), so the sentence says where the user stands, and names the
    /// credential of a rejected login (401).</summary>
    public async Task<CliException> ExplainAsync(CliException e)
    {
        if (e.ExitCode == 3) return _config.NameRejectedCredential(e);
        if (e.ExitCode != 4) return e;
        try
        {
            var usage = await Api.UsageAsync(null, CancellationToken.None);
            return new CliException($"{e.Message} Your balance is {usage.RemainingBalance:N0} credits; this session used {SessionCredits:0.##}.", 4);
        }
        catch (CliException)
        {
            return e;
        }
    }

    /// <summary>Runs one prompt; every event goes to <paramref name="sink"/>, the last one a <see cref="RunCompleted"/>.</summary>
    public async Task<RunCompleted> RunAsync(string prompt, Action<RunEvent> sink, CancellationToken ct)
    {
        var agent = await Agents.ResolveAsync(AgentId, ct);
        var session = new RunSession(Api, Agents, _options, Files, new EditJournal(_config.EditsDir(Files.Root), Files.Root), Prompter, sink, _host.Env("CODEBUFF_BYOK_OPENROUTER"))
        {
            Context = ProjectContext.Load(_host, Files),
        };
        var knowledge = session.Context.Knowledge;
        session.Emit(new KnowledgeLoaded("", knowledge.Files, knowledge.TotalChars, Knowledge.MaxChars));
        RunCompleted done;
        try
        {
            var outcome = await new AgentRunner(session).RunAsync(agent, prompt, null, _history, [], null, null, null, ct);
            _history = outcome.History.ToList();
            done = new RunCompleted("", outcome.RunId, outcome.Status, outcome.Output, outcome.TotalCredits, outcome.Error);
        }
        finally
        {
            SessionCredits += session.Credits;
        }
        Save();
        session.Emit(done);
        return done;
    }

    void Save()
    {
        Directory.CreateDirectory(_chatDir);
        var state = new JsonObject { ["agentId"] = AgentId, ["history"] = new JsonArray(_history.Select(h => (JsonNode)h.DeepClone()).ToArray()) };
        File.WriteAllText(Path.Combine(_chatDir, "run-state.json"), state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public void Dispose() => Api.Dispose();
}
