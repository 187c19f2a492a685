namespace Codebuff.Server.Orgs;

public static class OrgsSetup
{
    public static void AddOrgs(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<AlertOptions>(config.GetSection("Codebuff:Alerts"));
        services.AddScoped<Memberships>();
        services.AddScoped<Invitations>();
        services.AddScoped<PendingMembers>();
        services.AddScoped<OrgBilling>();
        services.AddSingleton<OrgAlerts>();
        services.AddSingleton<WeeklyReports>();
        services.AddHostedService<OrgAlertSweeper>();
    }
}
