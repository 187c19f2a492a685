using Spectre.Console.Testing;

namespace Codebuff.Cli.Tests.Infrastructure;

/// <summary>
/// Runs <c>codebuff</c> in-process the way a user would from a terminal: its own temporary home (so its own
/// credentials.json), a project directory, environment variables, captured output and a Spectre TestConsole.
/// </summary>
public sealed class CodebuffCli : IDisposable
{
    public CodebuffCli(string appUrl, string? apiKey = null)
    {
        Home = Directory.CreateTempSubdirectory("cb-home-").FullName;
        Project = Directory.CreateTempSubdirectory("cb-project-").FullName;
        Env["CODEBUFF_APP_URL"] = appUrl;
        if (apiKey is not null) Env["CODEBUFF_API_KEY"] = apiKey;
    }

    /// <summary>The CLI's home folder; a test may make it the project folder itself.</summary>
    public string Home { get; set; }
    public string Project { get; }
    /// <summary>Where the CLI is started (the project unless a test starts it in a sub-folder and passes --cwd).</summary>
    public string? WorkingDirectory { get; set; }
    public Dictionary<string, string?> Env { get; } = new();
    public string CredentialsPath => Path.Combine(Home, ".config", "manicode", "credentials.json");

    public sealed record Result(int ExitCode, string Out, string Error, string Console);

    public async Task<Result> RunAsync(string[] args, string? input = null, CancellationToken ct = default, TestConsole? console = null,
        TimeSpan? pollInterval = null)
    {
        console ??= new TestConsole().Width(160);
        var output = new StringWriter();
        var error = new StringWriter();
        var host = new CliHost
        {
            GetEnvironment = name => Env.GetValueOrDefault(name),
            // Commands see the test process's environment (PATH…) with this CLI's variables on top.
            Environment = Env.Where(e => e.Value is not null).Aggregate(CliHost.ProcessEnvironment(), (all, e) => { all[e.Key] = e.Value!; return all; }),
            Home = Home,
            CurrentDirectory = WorkingDirectory ?? Project,
            Console = console,
            Out = output,
            Error = error,
            In = new StringReader(input ?? ""),
            Interactive = false,
            Cancellation = ct,
            LoginPollInterval = pollInterval ?? TimeSpan.FromSeconds(5),
        };
        var code = await CliApp.RunAsync(args, host);
        return new Result(code, output.ToString(), error.ToString(), console.Output);
    }

    public string File(string relative) => System.IO.File.ReadAllText(Path.Combine(Project, relative));

    public void Write(string relative, string content)
    {
        var full = Path.Combine(Project, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllText(full, content);
    }

    public void Dispose()
    {
        foreach (var dir in new[] { Home, Project })
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
    }
}
