using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Codebuff.Cli.Ui;

/// <summary>
/// Renders a <see cref="MessageTree"/> with Spectre: reasoning collapsed to one line, diffs for edits, terminal output,
/// todos, nested agent blocks (helpers such as file-picker collapsed) and credits per agent and for the message.
/// </summary>
public static class TreeView
{
    const int MaxOutputLines = 12;

    public static IRenderable Render(MessageTree tree, decimal? sessionCredits = null)
    {
        if (tree.Root is not { } root) return new Markup("[dim]Starting…[/]");
        var view = new Tree(AgentLabel(root));
        AddBlocks(view, root);
        var rows = new List<IRenderable> { view };
        if (tree.Completed is { } done)
        {
            var footer = $"{Math.Round(done.TotalCredits, 2)} credits";
            if (sessionCredits is { } session) footer += $" · session {Math.Round(session, 2)} credits";
            if (done.Status != "completed") footer = $"[yellow]{Markup.Escape(done.Error ?? done.Status)}[/] · " + footer;
            rows.Add(new Markup($"[dim]{footer}[/]"));
        }
        return new Rows(rows);
    }

    static void AddBlocks(IHasTreeNodes parent, MessageTree.AgentBlock agent)
    {
        foreach (var block in agent.Blocks)
            switch (block)
            {
                case MessageTree.TextBlock { Reasoning: true } r:
                    parent.AddNode(new Markup($"[dim italic]thought for {r.Content.Length} characters (collapsed)[/]"));
                    break;
                case MessageTree.TextBlock t when t.Content.ToString().Trim() is { Length: > 0 } text:
                    parent.AddNode(new Text(text));
                    break;
                case MessageTree.ToolBlock tool:
                    var node = parent.AddNode(new Markup($"[blue]{(tool.Done ? "✓" : tool.Stopped ? "✗" : "…")} {Markup.Escape(tool.Name)}[/] [dim]{Markup.Escape(Summary(tool))}{(tool.Stopped ? " (stopped)" : "")}[/]"));
                    if (tool.Output is not null && Output(tool) is { } output) node.AddNode(output);
                    break;
                case MessageTree.AgentBlock child:
                    var sub = parent.AddNode(AgentLabel(child));
                    if (!Collapsed(child.AgentType) || child.Status == "failed") AddBlocks(sub, child);
                    break;
            }
    }

    static Markup AgentLabel(MessageTree.AgentBlock a)
    {
        var colour = a.Status switch { "completed" => "green", "failed" => "red", "cancelled" => "yellow", _ => "magenta" };
        var credits = a.TotalCredits > a.DirectCredits
            ? $"{Math.Round(a.DirectCredits, 2)} credits own, {Math.Round(a.TotalCredits, 2)} with sub-agents"
            : $"{Math.Round(a.DirectCredits, 2)} credits";
        var error = a.Error is null ? "" : $" · {Markup.Escape(a.Error)}";
        return new Markup($"[bold {colour}]{Markup.Escape(a.DisplayName)}[/] [dim]({Markup.Escape(a.AgentType)}) {a.Status} · {credits}{error}[/]");
    }

    /// <summary>Helpers whose inner work is noise to the user (clients.md §2.8).</summary>
    static bool Collapsed(string type) =>
        type is "file-picker" or "code-searcher" or "directory-lister" or "glob-matcher" or "context-pruner"
        || type.EndsWith("selector", StringComparison.Ordinal) || type.StartsWith("commander", StringComparison.Ordinal) || type.StartsWith("researcher-", StringComparison.Ordinal);

    static string Summary(MessageTree.ToolBlock tool)
    {
        var input = tool.Input as JsonObject;
        return tool.Name switch
        {
            "read_files" => string.Join(", ", (input?["paths"] as JsonArray ?? []).Select(p => p?.ToString())),
            "write_file" or "str_replace" or "list_directory" => (string?)input?["path"] ?? "",
            "run_terminal_command" => (string?)input?["command"] ?? "",
            "code_search" or "glob" => (string?)input?["pattern"] ?? "",
            "web_search" => (string?)input?["query"] ?? "",
            "read_docs" => (string?)input?["libraryTitle"] ?? "",
            "think_deeply" or "write_todos" or "set_output" or "ask_user" => "",
            _ => Clip(input?.ToJsonString() ?? "", 120),
        };
    }

    static IRenderable? Output(MessageTree.ToolBlock tool)
    {
        var output = tool.Output;
        if (output is JsonObject o && (string?)o["errorMessage"] is { } error) return new Markup($"[red]{Markup.Escape(error)}[/]");
        switch (tool.Name)
        {
            case "write_file" or "str_replace" when (output?["unifiedDiff"]) is JsonValue diff:
                return Diff(diff.ToString());
            case "run_terminal_command":
                var text = ((string?)output?["stdout"] ?? "") + ((string?)output?["stderr"] ?? "");
                var lines = text.TrimEnd().Split('\n');
                var shown = string.Join('\n', lines.TakeLast(MaxOutputLines));
                var exit = output?["exitCode"] is { } code ? $"exit {code}" : (string?)output?["message"] ?? "";
                return new Panel(new Text(shown.Length == 0 ? "(no output)" : shown)).Header(Markup.Escape(exit)).Border(BoxBorder.Rounded);
            case "write_todos":
                return new Rows((tool.Input?["todos"] as JsonArray ?? []).Select(t =>
                    (IRenderable)new Markup((bool?)t?["completed"] == true ? $"[green]☑[/] [strikethrough]{Markup.Escape((string?)t?["task"] ?? "")}[/]" : $"☐ {Markup.Escape((string?)t?["task"] ?? "")}")));
            case "ask_user":
                if ((bool?)output?["skipped"] == true) return new Markup("[dim]skipped (nobody at the keyboard)[/]");
                return new Text(string.Join('\n', (output?["answers"] as JsonArray ?? []).Select(Answer)));
            case "read_files":
                return new Markup($"[dim]{(output as JsonArray)?.Count ?? 0} file(s) read[/]");
            case "think_deeply" or "end_turn" or "set_output" or "suggest_followups":
                return null;
            default:
                return new Markup($"[dim]{Markup.Escape(Clip(output?.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) ?? "", 300))}[/]");
        }
    }

    static string Answer(JsonNode? a) =>
        (string?)a?["selectedOption"] ?? (string?)a?["otherText"] ?? string.Join(", ", (a?["selectedOptions"] as JsonArray ?? []).Select(x => x?.ToString()));

    static IRenderable Diff(string diff) => new Rows(diff.TrimEnd('\n').Split('\n').Skip(2).Take(40).Select(line => (IRenderable)(line.Length == 0 ? new Text("") : line[0] switch
    {
        '+' => new Markup($"[green]{Markup.Escape(line)}[/]"),
        '-' => new Markup($"[red]{Markup.Escape(line)}[/]"),
        '@' => new Markup($"[cyan]{Markup.Escape(line)}[/]"),
        _ => new Text(line),
    })));

    static string Clip(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
