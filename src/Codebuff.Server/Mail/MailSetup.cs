namespace Codebuff.Server.Mail;

public static class MailSetup
{
    /// <summary>SMTP when Codebuff:Smtp:Host is set, else the log (development: links appear in the server's output).</summary>
    public static void AddMail(this IServiceCollection services, IConfiguration config)
    {
        var smtp = config.GetSection("Codebuff:Smtp");
        services.Configure<SmtpOptions>(smtp);
        if (string.IsNullOrWhiteSpace(smtp["Host"])) services.AddSingleton<IEmailSender, LogEmailSender>();
        else services.AddSingleton<IEmailSender, SmtpEmailSender>();
    }
}
