using System.Net;
using System.Net.Mail;

namespace Codebuff.Server.Mail;

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
