using System.Net;
using System.Net.Mail;

namespace Codebuff.Server.Mail;

/// <summary>One outgoing e-mail in plain text.</summary>
public sealed record EmailMessage(string To, string Subject, string Text);

/// <summary>Sends the server's e-mails (organization invitations, sign-up and password-reset links). Which implementation
/// runs depends on Codebuff:Smtp:Host.</summary>
public interface IEmailSender
{
    Task SendAsync(EmailMessage message, CancellationToken ct);
}

/// <summary>Section "Codebuff:Smtp": the mail server; without a Host, e-mails are written to the log instead.</summary>
public sealed class SmtpOptions
{
    public string? Host { get; set; }
    public int Port { get; set; } = 587;
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "Codebuff <noreply@localhost>";
    /// <summary>STARTTLS before authenticating; turn off only for a local relay.</summary>
    public bool EnableSsl { get; set; } = true;
}

/// <summary>
/// Delivers through the configured SMTP server, one connection per message. System.Net.Mail rather than MailKit:
/// MailKit brings BouncyCastle, whose global "Org" namespace hides our Data.Org entity in every file.
/// </summary>
public sealed class SmtpEmailSender(IOptions<SmtpOptions> options) : IEmailSender
{
    public async Task SendAsync(EmailMessage message, CancellationToken ct)
    {
        var o = options.Value;
        using var mail = new MailMessage(new MailAddress(o.From).ToString(), message.To, message.Subject, message.Text);
        using var client = new SmtpClient(o.Host, o.Port) { EnableSsl = o.EnableSsl };
        if (!string.IsNullOrEmpty(o.Username)) client.Credentials = new NetworkCredential(o.Username, o.Password);
        await client.SendMailAsync(mail, ct);
    }
}

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
