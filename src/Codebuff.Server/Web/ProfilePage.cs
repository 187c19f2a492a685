using System.Globalization;
using System.Text;
using Codebuff.Server.Auth;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Codebuff.Server.Web;

/// <summary>
/// The dashboard's profile page: credits and usage, personal access tokens (create, revoke) and active sessions
/// (revoke). Server-rendered forms; every change is a same-origin POST from a signed-in browser.
/// </summary>
public static class ProfilePage
{
    public static void MapProfilePage(this IEndpointRouteBuilder app)
    {
        var profile = app.MapGroup("/profile");
        profile.MapGet("", Show).Page().RequireCaller(CallerAuthentication.CookieOrApiKey, Unauthenticated.SignIn);

        // A personal access token may drive the forms too (scripts); a cookie only from this site's own pages.
        var forms = profile.MapGroup("").RequireCaller(CallerAuthentication.CookieOrApiKey, new Unauthenticated(Refused)).AddEndpointFilter(OwnFormsOnly);
        forms.MapPost("/api-keys", CreateKey).Page().RequireRateLimiting(AuthRateLimits.Tokens).RequirePerCallerTokenLimit();
        forms.MapPost("/api-keys/revoke", RevokeKey).Page();
        forms.MapPost("/sessions/revoke", RevokeSession).Page();
    }

    static readonly IResult Refused = Page.Message("Not allowed", "Sign in and use the page's own buttons.", "error", 403);

    static async ValueTask<object?> OwnFormsOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var appUrl = http.RequestServices.GetRequiredService<IOptions<CodebuffOptions>>().Value.AppUrl;
        return http.Request.HasFormContentType && !WebSession.IsCrossSite(http, Caller.Of(http), appUrl) ? await next(context) : Refused;
    }

    static Task<IResult> Show(Caller caller, AppDbContext db, CreditLedger ledger, TimeProvider clock, CancellationToken ct) =>
        RenderAsync(caller, db, ledger, clock, newToken: null, ct);

    static async Task<IResult> CreateKey(HttpRequest request, Caller caller, AppDbContext db, TokenHasher hasher, CreditLedger ledger, TimeProvider clock, CancellationToken ct)
    {
        var user = caller.Required;
        var form = await request.ReadFormAsync(ct);
        if (!int.TryParse(form["days"], NumberStyles.None, CultureInfo.InvariantCulture, out var days) || days is < 1 or > 365)
            return Page.Message("Invalid expiry", "A key lives for 1 to 365 days.", "error", 400);
        var (token, _) = await UserSessions.CreateTokenAsync(db, hasher, user.Id, days, clock.GetUtcNow().UtcDateTime, ct);
        return await RenderAsync(caller, db, ledger, clock, token, ct);
    }

    static async Task<IResult> RevokeKey(HttpRequest request, Caller caller, AppDbContext db, TokenHasher hasher, CancellationToken ct)
    {
        var form = await request.ReadFormAsync(ct);
        await UserSessions.RevokeAsync(db, hasher, caller.Required.Id, [], [form["id"].ToString()], ct);
        return Results.Redirect("/profile#api-keys");
    }

    static async Task<IResult> RevokeSession(HttpRequest request, Caller caller, AppDbContext db, TokenHasher hasher, CancellationToken ct)
    {
        var form = await request.ReadFormAsync(ct);
        await UserSessions.RevokeAsync(db, hasher, caller.Required.Id, [form["id"].ToString()], [], ct);
        return Results.Redirect("/profile#sessions");
    }

    static async Task<IResult> RenderAsync(Caller caller, AppDbContext db, CreditLedger ledger, TimeProvider clock, string? newToken, CancellationToken ct)
    {
        var user = caller.Required;
        var now = clock.GetUtcNow().UtcDateTime;
        var usage = await ledger.GetUsageAsync(LedgerOwner.User(user.Id), ct);
        var tokens = await UserSessions.ListTokensAsync(db, user.Id, now, ct);
        var sessions = await UserSessions.ListSessionsAsync(db, user.Id, now, ct);
        var current = caller.SessionId;

        var html = new StringBuilder();
        html.Append($"""
            <h1>Your account</h1>
            <p>Signed in as <strong>{Page.Encode(user.Email)}</strong>. <a href="/">Home</a></p>
            <h2 id="usage">Credits</h2>
            <p><strong id="remaining">{usage.Balance.TotalRemaining}</strong> credits remaining{(usage.Balance.TotalDebt > 0 ? $", <strong>{usage.Balance.TotalDebt}</strong> in debt" : "")};
               {usage.UsageThisCycle} used this cycle; free credits renew {Page.Encode(usage.NextQuotaReset?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))}.</p>
            <table id="breakdown"><tr><th>Grant</th><th>Remaining</th></tr>
            """);
        foreach (var (type, credits) in usage.Balance.Breakdown.Where(b => b.Value > 0))
            html.Append($"<tr><td>{Page.Encode(type)}</td><td>{credits}</td></tr>");
        html.Append("</table>");

        html.Append("""<h2 id="api-keys">API keys</h2>""");
        if (newToken is not null)
            html.Append($"""<p class="ok">New key — copy it now, it is not shown again:<br><code id="new-token">{Page.Encode(newToken)}</code></p>""");
        html.Append("""<table id="tokens"><tr><th>Key</th><th>Expires</th><th></th></tr>""");
        foreach (var t in tokens)
            html.Append($"""
                <tr><td>{Page.Encode(t.Masked)}</td><td>{t.Expires:yyyy-MM-dd}</td>
                <td><form method="post" action="/profile/api-keys/revoke"><input type="hidden" name="id" value="{Page.Encode(t.Id)}"><button type="submit">Revoke</button></form></td></tr>
                """);
        html.Append("""
            </table>
            <form method="post" action="/profile/api-keys" id="create-key">
              <label>Expires in <input name="days" type="number" min="1" max="365" value="365"> days</label>
              <button class="button" type="submit">Create API key</button>
            </form>
            <h2 id="sessions">Sessions</h2>
            <table id="session-list"><tr><th>Kind</th><th>Session</th><th>Expires</th><th></th></tr>
            """);
        foreach (var s in sessions)
        {
            var kind = s.Type == SessionType.Cli ? "CLI" : "Browser";
            var action = s.Id == current
                ? "this browser"
                : $"""<form method="post" action="/profile/sessions/revoke"><input type="hidden" name="id" value="{Page.Encode(s.Id)}"><button type="submit">Log out</button></form>""";
            html.Append($"<tr><td>{kind}</td><td>{Page.Encode(s.Label)}</td><td>{(s.Type == SessionType.Cli ? "never" : s.Expires.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))}</td><td>{action}</td></tr>");
        }
        html.Append("</table>");
        return Page.Html("Account", html.ToString(), wide: true);
    }
}
