using System.Collections.Concurrent;
using Codebuff.Server.Hosting;

namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>An e-mail sender that keeps what it was asked to send, for a test to read (and follow its links).</summary>
public sealed class CapturingEmailSender(ConcurrentQueue<EmailMessage> sent) : IEmailSender
{
    public Task SendAsync(EmailMessage message, CancellationToken ct)
    {
        sent.Enqueue(message);
        return Task.CompletedTask;
    }
}
