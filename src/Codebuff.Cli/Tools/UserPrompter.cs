using System.Text.Json.Nodes;
using Spectre.Console;

namespace Codebuff.Cli.Tools;

/// <summary>
/// Questions to the person at the keyboard: approving a terminal command and the <c>ask_user</c> tool. With nobody
/// there (<c>-p</c> in a script) commands need <c>--yes</c> and questions are answered as skipped. One question at a
/// time, even when sub-agents run in parallel; the live display is paused while asking.
/// </summary>
public sealed class UserPrompter(IAnsiConsole console, bool interactive)
{
    readonly SemaphoreSlim _one = new(1, 1);

    /// <summary>Stops and resumes the live tree around a question (set by the renderer that owns it).</summary>
    public Func<Func<Task>, Task> Pause { get; set; } = ask => ask();

    public bool Interactive => interactive;

    // Taken by the run's key watcher around "not asking? then read a key", and by a question around marking itself
    // asked: without it the watcher could pass the check just before a question starts and then take its first key.
    readonly Lock _keyboard = new();
    volatile bool _asking;

    /// <summary>True while a question is on screen (the Esc watcher then leaves the keyboard alone).</summary>
    public bool Asking => _asking;

    /// <summary>For the key watcher of a run: a key already typed, unless a question owns the keyboard.</summary>
    public ConsoleKeyInfo? ReadKeyUnlessAsking()
    {
        lock (_keyboard) return !_asking && Console.KeyAvailable ? Console.ReadKey(intercept: true) : null;
    }

    /// <summary>Asks before an MCP server of a project or an agent starts; defaults to no.</summary>
    public async Task<bool> ConfirmMcpServerAsync(string name, string description, CancellationToken ct)
    {
        if (!interactive) return false;
        var ok = false;
        var question = $"Start the MCP server [bold]{Markup.Escape(name)}[/]: {Markup.Escape(description)}?";
        await AskAsync(async () => ok = await console.ConfirmAsync(question, false, ct), ct);
        return ok;
    }

    /// <summary>Asks before a command runs; one that would run outside a sandbox says so, and then defaults to no.</summary>
    public async Task<bool> ConfirmCommandAsync(string command, string cwd, CancellationToken ct, bool sandboxed = true)
    {
        if (!interactive) return false;
        var ok = false;
        var question = $"Run [bold]{Markup.Escape(command)}[/] in {Markup.Escape(cwd)}{(sandboxed ? "" : ", [yellow]without a sandbox[/]")}?";
        await AskAsync(async () => ok = await console.ConfirmAsync(question, sandboxed, ct), ct);
        return ok;
    }

    /// <summary>ask_user: <c>{questions:[{question,header?,options[{label,description?}],multiSelect?}]}</c> → answers or skipped.</summary>
    public async Task<JsonObject> AskUserAsync(JsonObject input, CancellationToken ct)
    {
        var questions = (input["questions"] as JsonArray)?.OfType<JsonObject>().ToArray() ?? [];
        if (!interactive || questions.Length == 0) return new JsonObject { ["answers"] = new JsonArray(), ["skipped"] = true };
        var answers = new JsonArray();
        await AskAsync(async () =>
        {
            for (var i = 0; i < questions.Length; i++)
            {
                var q = questions[i];
                const string other = "Other…";
                var options = (q["options"] as JsonArray)?.OfType<JsonObject>().Select(o => (string?)o["label"] ?? "").Where(l => l.Length > 0).ToList() ?? [];
                var title = Markup.Escape((string?)q["question"] ?? "");
                var answer = new JsonObject { ["questionIndex"] = i };
                if (options.Count == 0)
                    answer["otherText"] = await new TextPrompt<string>(title).ShowAsync(console, ct);
                else if ((bool?)q["multiSelect"] == true)
                {
                    var picked = await new MultiSelectionPrompt<string>().Title(title).AddChoices(options).ShowAsync(console, ct);
                    answer["selectedOptions"] = new JsonArray(picked.Select(p => (JsonNode?)p).ToArray());
                }
                else
                {
                    var picked = await new SelectionPrompt<string>().Title(title).AddChoices([.. options, other]).ShowAsync(console, ct);
                    if (picked == other) answer["otherText"] = await new TextPrompt<string>("Your answer:").ShowAsync(console, ct);
                    else answer["selectedOption"] = picked;
                }
                answers.Add(answer);
            }
        }, ct);
        return new JsonObject { ["answers"] = answers };
    }

    async Task AskAsync(Func<Task> ask, CancellationToken ct)
    {
        await _one.WaitAsync(ct);
        try
        {
            await Pause(async () =>
            {
                lock (_keyboard) _asking = true;
                try { await ask(); }
                finally { _asking = false; }
            });
        }
        finally { _one.Release(); }
    }
}
