using System.Diagnostics;
using System.Text;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Codebuff.Cli.Tools.Mcp;

/// <summary>
/// A started MCP server and the SDK's client for it. A stdio server is a process started the way terminal commands
/// are (<see cref="Sandbox"/>: bubblewrap, the same mode, network switch and environment filter, plus its configured
/// <c>env</c>), talking over its stdin/stdout; a remote one is reached over Streamable HTTP or SSE with its headers.
/// Disposing closes the client and ends the process tree.
/// </summary>
public sealed class McpConnection : IAsyncDisposable
{
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    const int StderrKept = 4_000;

    readonly Process? _process;

    McpConnection(McpServerConfig config, McpClient client, Process? process)
    {
        Config = config;
        Client = client;
        _process = process;
    }

    public McpServerConfig Config { get; }
    public McpClient Client { get; }

    public static async Task<McpConnection> StartAsync(McpServerConfig config, Sandbox sandbox, string projectRoot, Func<string, string?> env, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(StartTimeout);
        if (!config.IsStdio)
        {
            var url = config.Url!;
            if (config.Params.Count > 0)
                url += (url.Contains('?') ? "&" : "?") + string.Join('&', config.Params.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(McpServerConfig.Resolve(config.Name, "params." + p.Key, p.Value, env))}"));
            var transport = new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(url),
                Name = config.Name,
                TransportMode = config.Type == "sse" ? HttpTransportMode.Sse : HttpTransportMode.StreamableHttp,
                AdditionalHeaders = config.Headers.ToDictionary(h => h.Key, h => McpServerConfig.Resolve(config.Name, "headers." + h.Key, h.Value, env)),
            });
            return new McpConnection(config, await CreateClientAsync(config, transport, null, limit.Token, ct), null);
        }

        var resolved = config.Env.ToDictionary(e => e.Key, e => McpServerConfig.Resolve(config.Name, "env." + e.Key, e.Value, env));
        var process = ShellCommand.Spawner.Start(sandbox.StartInfo(config.Command!, config.Args, projectRoot, resolved));
        var connection = default(McpConnection);
        try
        {
            var transport = new StreamClientTransport(process.StandardInput.BaseStream, process.StandardOutput.BaseStream);
            var stderr = new StringBuilder();
            _ = Task.Run(async () =>
            {
                while (await process.StandardError.ReadLineAsync(CancellationToken.None) is { } line)
                    lock (stderr) { if (stderr.Length < StderrKept) stderr.AppendLine(line); }
            }, CancellationToken.None);
            connection = new McpConnection(config, await CreateClientAsync(config, transport, () => { lock (stderr) return stderr.ToString(); }, limit.Token, ct), process);
            return connection;
        }
        finally
        {
            if (connection is null) Stop(process);
        }
    }

    static async Task<McpClient> CreateClientAsync(McpServerConfig config, IClientTransport transport, Func<string>? stderr, CancellationToken ct, CancellationToken userCt)
    {
        try
        {
            return await McpClient.CreateAsync(transport, new McpClientOptions
            {
                ClientInfo = new Implementation { Name = "codebuff-cli", Version = typeof(McpConnection).Assembly.GetName().Version?.ToString(3) ?? "0.1.0" },
            }, cancellationToken: ct);
        }
        catch (Exception e) when (!userCt.IsCancellationRequested)
        {
            var said = stderr?.Invoke().Trim();
            throw new CliException($"The MCP server \"{config.Name}\" ({config.Describe()}) did not start: " +
                                   (e is OperationCanceledException ? $"no answer within {StartTimeout.TotalSeconds:0} seconds" : e.Message) +
                                   (string.IsNullOrEmpty(said) ? "" : $". It said: {said}"));
        }
    }

    static void Stop(Process process)
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        try { await Client.DisposeAsync(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { }
        if (_process is not null) Stop(_process);
    }
}
