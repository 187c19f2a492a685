using System.Diagnostics;

namespace Codebuff.Cli.Tests.Infrastructure;

/// <summary>
/// A real terminal for the CLI: a detached tmux session on its own socket (so nothing else's sessions are touched),
/// driven with send-keys and read with capture-pane. Disposing kills that socket's tmux server and what runs in it.
/// </summary>
public sealed class Tmux : IDisposable
{
    readonly string _socket = "cbtest-" + Guid.NewGuid().ToString("N")[..10];
    const string Session = "cli";

    public static bool Available { get; } = Find() is not null;

    static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "tmux")).FirstOrDefault(File.Exists);

    /// <summary>Starts <paramref name="command"/> (argv) in a <paramref name="width"/>×<paramref name="height"/> terminal in <paramref name="cwd"/>.</summary>
    public Tmux(string cwd, IReadOnlyDictionary<string, string?> env, IEnumerable<string> command, int width = 160, int height = 48)
    {
        var args = new List<string> { "new-session", "-d", "-s", Session, "-x", width.ToString(), "-y", height.ToString(), "-c", cwd, "env" };
        args.AddRange(env.Where(e => e.Value is not null).Select(e => $"{e.Key}={e.Value}"));
        args.AddRange(command);
        Run([.. args]);
        // Keep the pane after the program exits, so its last screen and exit status can be read.
        Run("set-option", "-t", Session, "remain-on-exit", "on");
    }

    public void Keys(params string[] keys) => Run(["send-keys", "-t", Session, .. keys]);

    /// <summary>Types text literally (no key-name interpretation).</summary>
    public void Type(string text) => Run("send-keys", "-t", Session, "-l", text);

    /// <summary>The visible screen (and scrollback) as plain text, trailing blanks trimmed.</summary>
    public string Screen() => Run("capture-pane", "-p", "-J", "-S", "-200", "-t", Session).TrimEnd();

    /// <summary>True once the program in the pane has exited.</summary>
    public bool Exited => Run("display-message", "-p", "-t", Session, "#{pane_dead}").Trim() == "1";

    /// <summary>Waits until the screen satisfies <paramref name="condition"/>; fails with the screen after <paramref name="seconds"/>.</summary>
    public async Task<string> WaitAsync(Func<string, bool> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var screen = Screen();
            if (condition(screen)) return screen;
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}; the terminal shows:\n{screen}");
            await Task.Delay(100);
        }
    }

    public Task<string> WaitForAsync(string text, double seconds = 30) => WaitAsync(s => s.Contains(text, StringComparison.Ordinal), $"\"{text}\"", seconds);

    string Run(params string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-L");
        psi.ArgumentList.Add(_socket);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args.Take(3))} failed: {error}");
        return output;
    }

    public void Dispose()
    {
        try { Run("kill-server"); }
        catch (InvalidOperationException) { }
    }
}

/// <summary>A test that needs a real terminal: skipped (with the reason) only where tmux is not installed.</summary>
public sealed class TmuxFactAttribute : FactAttribute
{
    public TmuxFactAttribute()
    {
        if (!Tmux.Available) Skip = "tmux is not installed (run-tests.sh installs it)";
    }
}
