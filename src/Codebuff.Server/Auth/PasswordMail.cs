using System.Threading.Channels;

namespace Codebuff.Server.Auth;

/// <summary>
/// Carries out the sign-up and forgot-password forms' requests after the page has answered. Done inline, an address
/// with an account cost a token insert and an SMTP exchange that an unknown address did not, so the answer's timing
/// told which addresses have accounts; queued, both answers cost the same. One request at a time, each in its own
/// scope (<see cref="PasswordLinks"/>). A request still queued when the server stops is lost; the user asks again.
/// </summary>
public sealed class PasswordMail(IServiceScopeFactory scopes, ILogger<PasswordMail> log) : BackgroundService
{
    sealed record Request(PasswordLinks.Kind Kind, string Address, string? Next);

    readonly Channel<Request> _requests = Channel.CreateUnbounded<Request>(new() { SingleReader = true });
    int _pending;

    /// <summary>Requests queued or being carried out.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public void RequestSignUp(string address, string? next) => Enqueue(new(PasswordLinks.Kind.SignUp, address, next));

    public void RequestReset(string address, string? next) => Enqueue(new(PasswordLinks.Kind.Reset, address, next));

    void Enqueue(Request request)
    {
        Interlocked.Increment(ref _pending);
        _requests.Writer.TryWrite(request);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try { await SendAllAsync(stoppingToken); }
        // Stopping while waiting for the next request is the normal end, not a failure that should stop the host.
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    async Task SendAllAsync(CancellationToken stoppingToken)
    {
        await foreach (var request in _requests.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var links = scope.ServiceProvider.GetRequiredService<PasswordLinks>();
                if (request.Kind == PasswordLinks.Kind.SignUp) await links.SendSignUpLinkAsync(request.Address, request.Next, stoppingToken);
                else await links.SendResetLinkAsync(request.Address, request.Next, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The page has answered already; the operator sees why no mail went out (never the address's account status).
                log.LogError("A {Kind} link request failed: {Error}", request.Kind, e.Message);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }
}
