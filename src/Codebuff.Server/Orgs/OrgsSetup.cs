namespace Codebuff.Server.Orgs;

public static class OrgsSetup
{
    public static void AddOrgs(this IServiceCollection services)
    {
        services.AddScoped<Memberships>();
        services.AddScoped<Invitations>();
        services.AddScoped<OrgBilling>();
    }
}
