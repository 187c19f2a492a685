using System.Net.Sockets;

namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>
/// A TCP relay in front of PostgreSQL, so a test can move the database (a restarted cluster listens on a new port)
/// and cut every open connection, as a network fault or a crashed server would, without touching other tests.
/// </summary>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    readonly TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
    readonly CancellationTokenSource _stop = new();
    readonly List<TcpClient> _open = [];
    readonly Lock _gate = new();

    public TcpFaultProxy(int targetPort)
    {
        TargetPort = targetPort;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public int Port => ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;
    public int TargetPort { get; set; }

    /// <summary>Closes every relayed connection now.</summary>
    public void CutAll()
    {
        lock (_gate)
        {
            foreach (var c in _open) c.Dispose();
            _open.Clear();
        }
    }

    async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = RelayAsync(client);
        }
    }

    async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient();
        try { await server.ConnectAsync(System.Net.IPAddress.Loopback, TargetPort); }
        catch (SocketException)
        {
            client.Dispose(); // the database is down: the caller sees its connection closed
            server.Dispose();
            return;
        }
        lock (_gate) { _open.Add(client); _open.Add(server); }
        var a = Pump(client.GetStream(), server.GetStream());
        var b = Pump(server.GetStream(), client.GetStream());
        await Task.WhenAny(a, b);
        client.Dispose();
        server.Dispose();
        lock (_gate) { _open.Remove(client); _open.Remove(server); }
    }

    static async Task Pump(NetworkStream from, NetworkStream to)
    {
        try { await from.CopyToAsync(to); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        CutAll();
        return ValueTask.CompletedTask;
    }
}
