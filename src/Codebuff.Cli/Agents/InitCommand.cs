using System.Reflection;
using Spectre.Console;

namespace Codebuff.Cli.Agents;

/// <summary>
/// <c>codebuff init</c> and <c>/init</c> (clients.md §2.6): <c>knowledge.md</c> and a <c>.agents/</c> like upstream's
/// (types, one agent, examples in TypeScript), from the files under Agents/Init embedded in the CLI. Existing files are
/// never overwritten; they are reported.
/// </summary>
public static class InitCommand
{
    const string Prefix = "init/";

    public static (IReadOnlyList<string> Created, IReadOnlyList<string> Existing) Write(string projectRoot)
    {
        var created = new List<string>();
        var existing = new List<string>();
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var relative = name[Prefix.Length..];
            if (relative != "knowledge.md") relative = ".agents/" + relative;
            var full = Path.Combine(projectRoot, relative.Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(full))
            {
                existing.Add(relative);
                continue;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using var source = assembly.GetManifestResourceStream(name)!;
            using var target = File.Create(full);
            source.CopyTo(target);
            created.Add(relative);
        }
        return (created, existing);
    }

    public static int Run(CliHost host, string projectRoot)
    {
        var (created, existing) = Write(projectRoot);
        foreach (var file in created) host.Console.MarkupLineInterpolated($"[green]Created[/] {file}");
        foreach (var file in existing) host.Console.MarkupLineInterpolated($"[dim]Already exists, left as it is:[/] {file}");
        if (created.Count > 0)
            host.Console.MarkupLine("Run an agent with [bold]codebuff --agent my-custom-agent[/]; publish it with [bold]codebuff publish my-custom-agent[/].");
        return 0;
    }
}
