using Spectre.Console;

namespace Codebuff.Cli;

/// <summary>
/// What the CLI needs from its surroundings: environment, home and working directory, the console and the plain
/// output streams. The process passes its own; tests run the CLI in-process with a temporary home and a TestConsole.
/// </summary>
public sealed class CliHost
{
    public required Func<string, string?> GetEnvironment { get; init; }
    /// <summary>The whole environment, passed on to the commands the CLI runs (less what looks secret, see Tools/Sandbox).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = ProcessEnvironment();
    public required string Home { get; init; }
    public required string CurrentDirectory { get; init; }
    /// <summary>Rich output: banners, the live message tree, prompts.</summary>
    public required IAnsiConsole Console { get; init; }
    /// <summary>Plain standard output: the final answer of <c>-p</c>, the JSON events of <c>--json</c>.</summary>
    public required TextWriter Out { get; init; }
    /// <summary>Error sentences.</summary>
    public required TextWriter Error { get; init; }
    public required TextReader In { get; init; }
    /// <summary>True when a person is at the keyboard (stdin and stdout are terminals): prompts and key reading work.</summary>
    public bool Interactive { get; init; }
    public Action<string> OpenBrowser { get; init; } = _ => { };
    public TimeSpan LoginPollInterval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Cancelled by Ctrl+C / Esc; the run in progress FINISHes as cancelled.</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>Ctrl+C while an interactive run is in progress stops only that run.</summary>
    public InterruptHub Interrupts { get; init; } = new();

    public static Dictionary<string, string> ProcessEnvironment() =>
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");

    public string? Env(string name) => GetEnvironment(name) is { Length: > 0 } value ? value : null;

    /// <summary>Output to a file or pipe is not wrapped at a made-up width (Spectre assumes 80 columns there).</summary>
    static IAnsiConsole Unwrapped()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        console.Profile.Width = int.MaxValue / 4;
        return console;
    }

    public static CliHost FromProcess(CancellationToken cancellation, InterruptHub interrupts) => new()
    {
        GetEnvironment = System.Environment.GetEnvironmentVariable,
        Home = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile),
        CurrentDirectory = Directory.GetCurrentDirectory(),
        Console = System.Console.IsOutputRedirected ? Unwrapped() : AnsiConsole.Console,
        Out = System.Console.Out,
        Error = System.Console.Error,
        In = System.Console.In,
        Interactive = !System.Console.IsInputRedirected && !System.Console.IsOutputRedirected,
        OpenBrowser = Browser.Open,
        Cancellation = cancellation,
        Interrupts = interrupts,
    };
}
