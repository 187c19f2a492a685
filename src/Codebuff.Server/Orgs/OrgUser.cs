using Codebuff.Server.Auth;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;

namespace Codebuff.Server.Orgs;

/// <summary>
/// The signed-in caller of an org route: the web session cookie or a personal access token (Bearer), resolved once per
/// request by the group filter <see cref="RequireUser"/>; anonymous callers get 401 {"error":"Unauthorized"}.
/// </summary>
public sealed record OrgUser(User User)
{
    public static User Of(HttpContext http) => http.Features.Get<OrgUser>()?.User
        ?? throw new InvalidOperationException($"{http.Request.Path} is not in a group that requires a user");

    public static ValueTask<OrgUser?> BindAsync(HttpContext http) => ValueTask.FromResult(http.Features.Get<OrgUser>());
}

public static class OrgUserFilter
{
    public static RouteGroupBuilder RequireUser(this RouteGroupBuilder group) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var services = http.RequestServices;
            var user = await RequestUser.FindAsync(http, services.GetRequiredService<AppDbContext>(), services.GetRequiredService<TokenHasher>(), null, http.RequestAborted);
            if (user is null) return OrgAccess.Error(401, "Unauthorized");
            http.Features.Set(new OrgUser(user));
            return await next(context);
        });
}
