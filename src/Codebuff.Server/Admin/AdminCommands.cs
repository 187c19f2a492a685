using System.CommandLine;
using Codebuff.Server.Billing;

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
        var password = new Option<string?>("--password") { Description = $"a password to sign in with at /login (at least {PasswordSignIn.MinLength} characters)" };
        var createUser = new Command("create-user", "Create a user with a personal access token (and optionally credits and a password)") { email, name, handle, credits, password };
        createUser.SetAction(async (parse, ct) =>
        {
            await using var scope = await openScope(ct);
            var result = await CreateUserAsync(scope.ServiceProvider, parse.GetValue(email)!, parse.GetValue(name), parse.GetValue(handle), parse.GetValue(credits), ct, parse.GetValue(password));
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

        var listUsers = new Command("list-users", "Print every user (id, e-mail, name, handle, created, banned) as one JSON array");
        listUsers.SetAction(async (parse, ct) =>
        {
            await using var scope = await openScope(ct);
            var users = await ListUsersAsync(scope.ServiceProvider.GetRequiredService<AppDbContext>(), ct);
            await output.WriteLineAsync(JsonSerializer.Serialize(users, JsonOptions));
            return 0;
        });

        var revokeEmail = new Option<string>("--email") { Description = "the user's e-mail address", Required = true };
        var revokeSessions = new Command("revoke-sessions", "Sign a user out everywhere: delete every web and CLI session and personal access token") { revokeEmail };
        revokeSessions.SetAction(async (parse, ct) =>
        {
            await using var scope = await openScope(ct);
            var result = await RevokeSessionsAsync(scope.ServiceProvider.GetRequiredService<AppDbContext>(), parse.GetValue(revokeEmail)!, ct);
            await output.WriteLineAsync(JsonSerializer.Serialize(result, JsonOptions));
            return 0;
        });

        var ban = BanCommand("ban", "Suspend a user: their web sessions end, and CLI sessions and tokens may no longer spend, publish or grant", true, openScope, output);
        var unban = BanCommand("unban", "Lift a user's suspension", false, openScope, output);
        var deleteEmail = new Option<string>("--email") { Description = "the user's e-mail address", Required = true };
        var deleteUser = new Command("delete-user", "Delete a user's account: sign out everywhere, erase personal data, keep billing facts (README: Deleting an account)") { deleteEmail };
        deleteUser.SetAction(async (parse, ct) =>
        {
            await using var scope = await openScope(ct);
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var address = parse.GetValue(deleteEmail)!;
            var userId = await db.Users.Where(u => u.Email == address).Select(u => u.Id).FirstOrDefaultAsync(ct)
                         ?? throw new AdminException($"no user with e-mail {address}");
            if (await AccountDeletion.DeleteAsync(db, userId, ct) is { } refused) throw new AdminException(refused.Message);
            await output.WriteLineAsync(JsonSerializer.Serialize(new DeletedUser(userId, address, AccountDeletion.TombstoneEmail(userId)), JsonOptions));
            return 0;
        });

        var all = new Option<bool>("--all") { Description = "also list rows still being retried (default: only those left for an operator)" };
        var syncFailures = new Command("sync-failures", "List payment sync failures (sync_failure) as JSON lines") { all };
        syncFailures.SetAction(async (parse, ct) =>
        {
            await using var scope = await openScope(ct);
            foreach (var row in await SyncFailuresAsync(scope.ServiceProvider, parse.GetValue(all), ct))
                await output.WriteLineAsync(JsonSerializer.Serialize(row, JsonOptions));
            return 0;
        });

        return new RootCommand("Codebuff administration")
        {
            new Command("admin", "Operator commands") { createUser, grant, listUsers, revokeSessions, ban, unban, deleteUser, syncFailures },
        };
    }

    static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { Converters = { new IsoUtcDateTimeConverter() } };

    public sealed record CreatedUser(string userId, string email, string apiKey);

    public static async Task<CreatedUser> CreateUserAsync(IServiceProvider services, string email, string? name, string? handle, int? credits,
        CancellationToken ct, string? password = null)
    {
        if (!email.Contains('@') || email.Length > 320) throw new AdminException($"'{email}' is not an e-mail address");
        if (credits is <= 0) throw new AdminException("--credits must be a positive number");
        if (password is not null && PasswordSignIn.Problem(password) is { } problem) throw new AdminException($"--password: {problem}");
        var db = services.GetRequiredService<AppDbContext>();
        var hasher = services.GetRequiredService<TokenHasher>();
        if (await db.Users.AnyAsync(u => u.Email == email, ct)) throw new AdminException($"a user with e-mail {email} already exists");
        if (handle is not null && await db.Users.AnyAsync(u => u.Handle == handle, ct)) throw new AdminException($"the handle '{handle}' is taken");

        var user = new User { Id = Guid.NewGuid().ToString(), Email = email, Name = name, Handle = handle };
        // Hashed exactly as the sign-up and reset pages hash it.
        if (password is not null) user.Password = services.GetRequiredService<PasswordSignIn>().Hash(user, password);
        var token = TokenHasher.NewPersonalAccessToken();
        db.Users.Add(user);
        db.Sessions.Add(new Session { SessionToken = hasher.Hash(token), UserId = user.Id, Type = SessionType.Pat, Expires = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime.AddDays(365) });
        await db.SaveChangesAsync(ct);
        if (credits is { } c)
            await services.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.User(user.Id), $"admin-{user.Id}-{Guid.NewGuid():N}",
                user.Id, c, GrantType.Admin, "Granted by operator (admin create-user)", null, ct);
        return new CreatedUser(user.Id, email, token);
    }

    static Task<List<ListedUser>> ListUsersAsync(AppDbContext db, CancellationToken ct) =>
        db.Users.AsNoTracking().OrderBy(u => u.CreatedAt).ThenBy(u => u.Email)
            .Select(u => new ListedUser(u.Id, u.Email, u.Name, u.Handle, u.CreatedAt, u.Banned)).ToListAsync(ct);

    /// <summary>Deletes all of the user's credentials in one transaction and unclaims the fingerprints of its CLI sessions.</summary>
    static async Task<RevokedSessions> RevokeSessionsAsync(AppDbContext db, string email, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == email, ct)
                   ?? throw new AdminException($"no user with e-mail {email}");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var fingerprints = db.Sessions.Where(s => s.UserId == user.Id && s.FingerprintId != null).Select(s => s.FingerprintId);
        await db.Fingerprints.Where(f => fingerprints.Contains(f.Id)).ExecuteUpdateAsync(s => s.SetProperty(f => f.SigHash, (string?)null), ct);
        var revoked = await db.Sessions.Where(s => s.UserId == user.Id).ExecuteDeleteAsync(ct);
        await tx.CommitAsync(ct);
        return new RevokedSessions(user.Id, email, revoked);
    }

    static Command BanCommand(string name, string description, bool banned, Func<CancellationToken, Task<AsyncServiceScope>> openScope, TextWriter output)
    {
        var email = new Option<string>("--email") { Description = "the user's e-mail address", Required = true };
        var command = new Command(name, description) { email };
        command.SetAction(async (parse, ct) =>
        {
            await using var scope = await openScope(ct);
            var result = await SetBannedAsync(scope.ServiceProvider.GetRequiredService<AppDbContext>(), parse.GetValue(email)!, banned, ct);
            await output.WriteLineAsync(JsonSerializer.Serialize(result, JsonOptions));
            return 0;
        });
        return command;
    }

    /// <summary>Bans or unbans (<see cref="Suspension"/>); changed is false when the user already was so.</summary>
    static async Task<BanResult> SetBannedAsync(AppDbContext db, string email, bool banned, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == email, ct)
                   ?? throw new AdminException($"no user with e-mail {email}");
        var changed = await Suspension.SetAsync(db, db.Users.Where(u => u.Id == user.Id), banned, ct);
        return new BanResult(user.Id, email, banned, changed > 0);
    }

    /// <summary>Rows at the retry limit (or all): what failed, how often, the last error; oldest first.</summary>
    public static Task<List<SyncFailure>> SyncFailuresAsync(IServiceProvider services, bool all, CancellationToken ct) =>
        services.GetRequiredService<AppDbContext>().SyncFailures.AsNoTracking()
            .Where(f => all || f.RetryCount >= Payments.SyncFailures.MaxRetries).OrderBy(f => f.CreatedAt).ToListAsync(ct);

    static async Task<CreditBalance> GrantAsync(IServiceProvider services, string email, int credits, GrantType type, int? expiresInDays, CancellationToken ct)
    {
        var expiresAt = GrantExpiry(services, credits, expiresInDays);
        var user = await services.GetRequiredService<AppDbContext>().Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == email, ct)
                   ?? throw new AdminException($"no user with e-mail {email}");
        return await GrantToAsync(services, LedgerOwner.User(user.Id), $"{type.ToString().ToLowerInvariant()}-{user.Id}-{Guid.NewGuid():N}",
            user.Id, credits, type, "Granted by operator (admin grant)", expiresAt, ct);
    }

    /// <summary>Checks a grant's amount and lifetime; the expiry it asks for, or null for never.</summary>
    static DateTime? GrantExpiry(IServiceProvider services, int credits, int? expiresInDays)
    {
        if (credits <= 0) throw new AdminException("--credits must be a positive number");
        if (expiresInDays is <= 0) throw new AdminException("--expires-in-days must be a positive number");
        return expiresInDays is { } d ? services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime.AddDays(d) : null;
    }

    /// <summary>
    /// Organization credits for self-hosters without Stripe (api.md §7.9): an organization grant paid, on record, by the
    /// org's owner, operation id org-&lt;orgId&gt;-&lt;id&gt; like a purchase's; no debt settlement, as for every org grant.
    /// </summary>
    static async Task<CreditBalance> GrantOrgAsync(IServiceProvider services, string slug, int credits, int? expiresInDays, CancellationToken ct)
    {
        var expiresAt = GrantExpiry(services, credits, expiresInDays);
        var org = await services.GetRequiredService<AppDbContext>().Orgs.AsNoTracking().FirstOrDefaultAsync(o => o.Slug == slug, ct)
                  ?? throw new AdminException($"no organization with slug {slug}");
        return await GrantToAsync(services, LedgerOwner.Org(org.Id), $"org-{org.Id}-{Guid.NewGuid():N}", org.OwnerId, credits,
            GrantType.Organization, "Granted by operator (admin grant --org)", expiresAt, ct);
    }

    /// <summary>Grants to a user's or an org's ledger; the balance the operator sees after it.</summary>
    static async Task<CreditBalance> GrantToAsync(IServiceProvider services, LedgerOwner owner, string operationId, string payerId, int credits,
        GrantType type, string description, DateTime? expiresAt, CancellationToken ct)
    {
        var ledger = services.GetRequiredService<CreditLedger>();
        await ledger.GrantAsync(owner, operationId, payerId, credits, type, description, expiresAt, ct);
        return await ledger.GetBalanceAsync(owner, ct);
    }
}

public sealed record ListedUser(string UserId, string Email, string? Name, string? Handle, DateTime CreatedAt, bool Banned);

public sealed record RevokedSessions(string UserId, string Email, int Revoked);

public sealed record BanResult(string UserId, string Email, bool Banned, bool Changed);
public sealed record DeletedUser(string UserId, string Email, string TombstoneEmail);
