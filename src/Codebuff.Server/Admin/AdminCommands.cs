using System.CommandLine;
using System.Text.Json;
using Codebuff.Server.Auth;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Admin;

/// <summary>Operator commands that run against the same configuration and database as the server.</summary>
public static class AdminCommands
{
    public static RootCommand Build(Func<CancellationToken, Task<AsyncServiceScope>> openScope, TextWriter output)
    {
        var email = new Option<string>("--email") { Description = "the user's e-mail address", Required = true };
        var name = new Option<string?>("--name") { Description = "display name" };
        var handle = new Option<string?>("--handle") { Description = "unique handle" };
        var credits = new Option<int?>("--credits") { Description = "credits of an admin grant to add" };
        var createUser = new Command("create-user", "Create a user with a personal access token (and optionally credits)") { email, name, handle, credits };
        createUser.SetAction(async (parse, ct) =>
        {
            await using var scope = await openScope(ct);
            var result = await CreateUserAsync(scope.ServiceProvider, parse.GetValue(email)!, parse.GetValue(name), parse.GetValue(handle), parse.GetValue(credits), ct);
            await output.WriteLineAsync(JsonSerializer.Serialize(result));
            return 0;
        });

        var grantEmail = new Option<string?>("--email") { Description = "the user's e-mail address" };
        var grantOrg = new Option<string?>("--org") { Description = "an organization's slug: grant organization credits instead" };
        var amount = new Option<int>("--credits") { Description = "credits to grant (positive)", Required = true };
        var type = new Option<string>("--type") { Description = "grant type", DefaultValueFactory = _ => "admin" };
        type.AcceptOnlyFromAmong("admin", "free", "referral", "purchase");
        var expires = new Option<int?>("--expires-in-days") { Description = "days until the grant expires (default: never)" };
        var grant = new Command("grant", "Add a credit grant to a user or an organization and print the new balance") { grantEmail, grantOrg, amount, type, expires };
        grant.SetAction(async (parse, ct) =>
        {
            var (userEmail, orgSlug) = (parse.GetValue(grantEmail), parse.GetValue(grantOrg));
            if ((userEmail is null) == (orgSlug is null)) throw new AdminException("give either --email or --org");
            if (orgSlug is not null && parse.GetResult(type) is { Implicit: false }) throw new AdminException("--type does not apply to --org: organization credits are always of type organization");
            await using var scope = await openScope(ct);
            var balance = orgSlug is not null
                ? await GrantOrgAsync(scope.ServiceProvider, orgSlug, parse.GetValue(amount), parse.GetValue(expires), ct)
                : await GrantAsync(scope.ServiceProvider, userEmail!, parse.GetValue(amount),
                    Enum.Parse<GrantType>(parse.GetValue(type)!, ignoreCase: true), parse.GetValue(expires), ct);
            await output.WriteLineAsync(JsonSerializer.Serialize(balance, JsonOptions));
            return 0;
        });

        return new RootCommand("Codebuff administration") { new Command("admin", "Operator commands") { createUser, grant } };
    }

    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public sealed record CreatedUser(string userId, string email, string apiKey);

    public static async Task<CreatedUser> CreateUserAsync(IServiceProvider services, string email, string? name, string? handle, int? credits, CancellationToken ct)
    {
        if (!email.Contains('@') || email.Length > 320) throw new AdminException($"'{email}' is not an e-mail address");
        if (credits is <= 0) throw new AdminException("--credits must be a positive number");
        var db = services.GetRequiredService<AppDbContext>();
        var hasher = services.GetRequiredService<TokenHasher>();
        if (await db.Users.AnyAsync(u => u.Email == email, ct)) throw new AdminException($"a user with e-mail {email} already exists");
        if (handle is not null && await db.Users.AnyAsync(u => u.Handle == handle, ct)) throw new AdminException($"the handle '{handle}' is taken");

        var user = new User { Id = Guid.NewGuid().ToString(), Email = email, Name = name, Handle = handle };
        var token = TokenHasher.NewPersonalAccessToken();
        db.Users.Add(user);
        db.Sessions.Add(new Session { SessionToken = hasher.Hash(token), UserId = user.Id, Type = SessionType.Pat, Expires = DateTime.UtcNow.AddDays(365) });
        await db.SaveChangesAsync(ct);
        if (credits is { } c)
            await services.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.User(user.Id), $"admin-{user.Id}-{Guid.NewGuid():N}",
                user.Id, c, GrantType.Admin, "Granted by operator (admin create-user)", null, ct);
        return new CreatedUser(user.Id, email, token);
    }

    static async Task<CreditBalance> GrantAsync(IServiceProvider services, string email, int credits, GrantType type, int? expiresInDays, CancellationToken ct)
    {
        var expiresAt = GrantExpiry(credits, expiresInDays);
        var db = services.GetRequiredService<AppDbContext>();
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == email, ct)
                   ?? throw new AdminException($"no user with e-mail {email}");
        var ledger = services.GetRequiredService<CreditLedger>();
        var owner = LedgerOwner.User(user.Id);
        await ledger.GrantAsync(owner, $"{type.ToString().ToLowerInvariant()}-{user.Id}-{Guid.NewGuid():N}", user.Id, credits, type,
            "Granted by operator (admin grant)", expiresAt, ct);
        return await ledger.GetBalanceAsync(owner, ct);
    }

    /// <summary>Checks a grant's amount and lifetime; the expiry it asks for, or null for never.</summary>
    static DateTime? GrantExpiry(int credits, int? expiresInDays)
    {
        if (credits <= 0) throw new AdminException("--credits must be a positive number");
        if (expiresInDays is <= 0) throw new AdminException("--expires-in-days must be a positive number");
        return expiresInDays is { } d ? DateTime.UtcNow.AddDays(d) : null;
    }

    /// <summary>
    /// Organization credits for self-hosters without Stripe (api.md §7.9): an organization grant paid, on record, by the
    /// org's owner, operation id org-&lt;orgId&gt;-&lt;id&gt; like a purchase's; no debt settlement, as for every org grant.
    /// </summary>
    static async Task<CreditBalance> GrantOrgAsync(IServiceProvider services, string slug, int credits, int? expiresInDays, CancellationToken ct)
    {
        var expiresAt = GrantExpiry(credits, expiresInDays);
        var db = services.GetRequiredService<AppDbContext>();
        var org = await db.Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Slug == slug, ct)
                  ?? throw new AdminException($"no organization with slug {slug}");
        var ledger = services.GetRequiredService<CreditLedger>();
        var owner = LedgerOwner.Org(org.Id);
        await ledger.GrantAsync(owner, $"org-{org.Id}-{Guid.NewGuid():N}", org.OwnerId, credits, GrantType.Organization,
            "Granted by operator (admin grant --org)", expiresAt, ct);
        return await ledger.GetBalanceAsync(owner, ct);
    }
}

/// <summary>Bad input to an admin command: printed as one line, exit code 2.</summary>
public sealed class AdminException(string message) : Exception(message);
