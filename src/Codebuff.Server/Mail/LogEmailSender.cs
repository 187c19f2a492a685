namespace Codebuff.Server.Mail;

/// <summary>
/// Without a mail server (development, self-hosting without SMTP) the message — an invitation's accept link or a
/// sign-in link included — goes to the log, where the operator can pass it on.
/// </summary>
public sealed class LogEmailSender(ILogger<LogEmailSender> log) : IEmailSender
{
    public Task SendAsync(EmailMessage message, CancellationToken ct)
    {
        log.LogWarning("E-mail not sent (no Codebuff:Smtp:Host configured). To: {To}; Subject: {Subject}\n{Text}", message.To, message.Subject, message.Text);
        return Task.CompletedTask;
    }
}
