namespace Codebuff.Server.Mail;

/// <summary>One outgoing e-mail in plain text.</summary>
public sealed record EmailMessage(string To, string Subject, string Text);

/// <summary>Sends the server's e-mails (organization invitations, sign-up and password-reset links). Which implementation
/// runs depends on Codebuff:Smtp:Host.</summary>
public interface IEmailSender
{
    Task SendAsync(EmailMessage message, CancellationToken ct);
}
