namespace Codebuff.Server.Orgs;

public static class OrgsSetup
{
    public static void AddOrgs(this IServiceCollection services)
    {
        services.AddScoped<Memberships>();
        services.AddScoped<Invitations>();
        services.AddScoped<PendingMembers>();
        services.AddScoped<OrgBilling>();
    }
}
