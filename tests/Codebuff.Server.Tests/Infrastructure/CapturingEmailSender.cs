using System.Collections.Concurrent;
using Codebuff.Server.Hosting;

namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>An e-mail sender that keeps what it was asked to send, for a test to read (and follow its links).</summary>
public sealed class CapturingEmailSender(ConcurrentQueue<EmailMessage> sent) : IEmailSender
{
    /// <summary>Every send waits for it: a test holds it to show that an answer did not wait for a mail.</summary>
    public Task Gate { get; set; } = Task.CompletedTask;

    public async Task SendAsync(EmailMessage message, CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        sent.Enqueue(message);
    }
}
