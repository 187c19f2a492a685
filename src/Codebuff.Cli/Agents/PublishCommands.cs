using System.Text.Json;
using Codebuff.Cli.Api;
using Codebuff.Cli.Config;
using Codebuff.Contracts;
using Spectre.Console;

namespace Codebuff.Cli.Agents;

/// <summary><c>codebuff publish</c> and <c>codebuff save-agent</c> (clients.md §2.10, api.md §4.6).</summary>
public static class PublishCommands
{
    public static async Task<int> PublishAsync(CliHost host, string projectRoot, IReadOnlyList<string> names, CancellationToken ct)
    {
        var folder = Path.Combine(projectRoot, ".agents");
        var (all, problems) = Directory.Exists(folder) ? LocalAgents.LoadFolder(folder, host.Home) : ([], []);
        foreach (var problem in problems) host.Error.WriteLine($"Agent not loaded: {problem}");
        if (all.Count == 0) throw new CliException($"No agent definitions (*.ts, *.js, *.json, *.yaml) in {folder}.");
        var chosen = names.Count == 0 ? all : names.Select(n =>
            all.FirstOrDefault(a => a.Id == n) ?? all.FirstOrDefault(a => a.DisplayName == n)
            ?? throw new CliException($"No agent \"{n}\" in .agents/ (by id or display name). There are: {string.Join(", ", all.Select(a => a.Id))}.")).Distinct().ToList();

        var config = new CliConfig(host);
        using var api = new CodebuffApi(config.AppUrl, config.RequireToken());
        var localIds = all.Select(a => a.Id).ToArray();
        var data = chosen.Select(a => a.Data).ToArray();

        var validation = await api.ValidateAgentsAsync(new ValidateAgentsRequest(data, localIds), ct);
        if (validation.ValidationErrors.Count > 0)
        {
            host.Console.MarkupLine("[red]The server found problems in these definitions; nothing was published:[/]");
            foreach (var e in validation.ValidationErrors) host.Console.MarkupLineInterpolated($"  {e.FilePath}: {e.Message}");
            return 1;
        }

        var result = await api.PublishAsync(new PublishRequest(data, localIds), ct);
        if (!result.Success)
        {
            host.Console.MarkupLineInterpolated($"[red]Publishing failed: {result.Error ?? "unknown error"}[/]");
            if (result.Details is { Length: > 0 } details) host.Console.MarkupLineInterpolated($"  {details}");
            if (result.Hint is { Length: > 0 } hint) host.Console.MarkupLineInterpolated($"  Hint: {hint}");
            if (result.AvailablePublishers is { Count: > 0 } publishers) host.Console.MarkupLineInterpolated($"  Your publishers: {string.Join(", ", publishers)}");
            foreach (var e in result.ValidationErrors ?? []) host.Console.MarkupLineInterpolated($"  {e.FilePath}: {e.Message}");
            return 1;
        }
        foreach (var a in result.Agents ?? [])
            host.Console.MarkupLineInterpolated($"[green]Published[/] {a.DisplayName} ({result.PublisherId}/{a.Id}@{a.Version})");
        return 0;
    }

    public static async Task<int> SaveAgentAsync(CliHost host, string projectRoot, string reference, CancellationToken ct)
    {
        var r = AgentRef.Parse(reference);
        if (r.Publisher is null) throw new CliException($"Name the publisher too: codebuff save-agent <publisher>/{r.Id}[@version].");
        var config = new CliConfig(host);
        using var api = new CodebuffApi(config.AppUrl, config.Token);
        var found = await api.GetAgentAsync(r.Publisher, r.Id, r.Version, ct)
            ?? throw new CliException($"{reference} is not published on {config.AppUrl}.");
        var folder = Path.Combine(projectRoot, ".agents");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{found.Id}.json");
        if (File.Exists(path)) throw new CliException($"{Path.GetRelativePath(projectRoot, path)} already exists; move it away first.");
        var data = found.Data;
        data["publisher"] ??= found.PublisherId;
        data["version"] = found.Version;
        await File.WriteAllTextAsync(path, data.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", ct);
        host.Console.MarkupLineInterpolated($"Saved {found.PublisherId}/{found.Id}@{found.Version} to {Path.GetRelativePath(projectRoot, path)}.");
        return 0;
    }
}
