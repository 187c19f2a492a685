namespace Codebuff.Server.Orgs;

public static class OrgsSetup
{
    public static void AddOrgs(this IServiceCollection services, IConfiguration config)
    {
        services.AddScoped<Memberships>();
        services.AddScoped<Invitations>();
        services.AddScoped<OrgBilling>();
        var smtp = config.GetSection("Codebuff:Smtp");
        services.Configure<SmtpOptions>(smtp);
        if (string.IsNullOrWhiteSpace(smtp["Host"])) services.AddSingleton<IEmailSender, LogEmailSender>();
        else services.AddSingleton<IEmailSender, SmtpEmailSender>();
    }
}
