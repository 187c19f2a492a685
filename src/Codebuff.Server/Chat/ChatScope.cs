namespace Codebuff.Server.Chat;

/// <summary>
/// The database services of one chat call, in a scope of their own that the call releases once its gates are passed:
/// a request's pooled <see cref="AppDbContext"/> otherwise stays leased for as long as the provider streams (an EF
/// context with its internal services is ~18 KB; 1,000 streams held 1,000 of them, bench/README.md, memory). A later
/// use (releasing a hold, finishing a plain run) opens a fresh scope; what is still open goes with the request.
/// </summary>
public sealed class ChatScope(IServiceScopeFactory scopes) : IAsyncDisposable
{
    AsyncServiceScope? _scope;

    public T Get<T>() where T : notnull => (_scope ??= scopes.CreateAsyncScope()).ServiceProvider.GetRequiredService<T>();

    /// <summary>Returns the scope's context to the pool; nothing of it may be used afterwards (a new one is made on demand).</summary>
    public async ValueTask ReleaseAsync()
    {
        if (_scope is { } scope)
        {
            _scope = null;
            await scope.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => ReleaseAsync();
}
