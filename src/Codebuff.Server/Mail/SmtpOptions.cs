namespace Codebuff.Server.Mail;

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
