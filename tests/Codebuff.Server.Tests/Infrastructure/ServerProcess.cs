using System.Diagnostics;

namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>Runs the real server executable (Codebuff.Server.dll from the test output) as a child process.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly System.Text.StringBuilder _output = new();
    readonly Task _stdout;
    readonly Task<string> _stderr;

    ServerProcess(Process process)
    {
        _process = process;
        _stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
                lock (_output) _output.AppendLine(line);
        });
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>What the server has printed on stdout so far (while it runs).</summary>
    public string OutputSoFar { get { lock (_output) return _output.ToString(); } }

    /// <summary>Waits until the server has printed a line containing <paramref name="text"/>.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!OutputSoFar.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > timeout || _process.HasExited) return false;
            await Task.Delay(100);
        }
        return true;
    }

    public int Id => _process.Id;

    public static ServerProcess Start(IEnumerable<string> args, IDictionary<string, string?> env) =>
        Start([Path.Combine(AppContext.BaseDirectory, "Codebuff.Server.dll"), .. args], AppContext.BaseDirectory, env);

    /// <summary>Runs `dotnet` with <paramref name="dotnetArgs"/> (e.g. another build's dll, or `run --project …`).</summary>
    public static ServerProcess Start(IEnumerable<string> dotnetArgs, string workingDirectory, IDictionary<string, string?> env)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in dotnetArgs) psi.ArgumentList.Add(a);
        // Nothing from the developer's environment may point the child at another database.
        psi.Environment.Remove("ConnectionStrings__Default");
        psi.Environment["Codebuff__AuthSecret"] = "test-auth-secret";
        // Instances on one database must share their secrets (the server refuses to start otherwise); tests override it.
        psi.Environment["Codebuff__Byok__MasterKey"] = "test-byok-master-key";
        psi.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return new ServerProcess(Process.Start(psi)!);
    }

    public static async Task<Result> RunAsync(IEnumerable<string> args, IDictionary<string, string?> env, int timeoutSeconds = 300)
    {
        await using var p = Start(args, env);
        return await p.WaitAsync(timeoutSeconds);
    }

    public async Task<Result> WaitAsync(int timeoutSeconds = 60)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        await _process.WaitForExitAsync(cts.Token);
        await _stdout;
        return new Result(_process.ExitCode, OutputSoFar, await _stderr);
    }

    /// <summary>A loopback port free right now, for a child's --urls.</summary>
    public static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does.</summary>
    public void Interrupt()
    {
        if (!_process.HasExited) Process.Start("kill", ["-INT", _process.Id.ToString()])!.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr);
}
