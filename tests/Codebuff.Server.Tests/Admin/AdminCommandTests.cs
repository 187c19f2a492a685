using Codebuff.Server.Admin;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Admin;

/// <summary>The admin commands as operators run them: the real executable against a real database.</summary>
public sealed class AdminCommandTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    Dictionary<string, string?> Env => new() { ["ConnectionStrings__Default"] = server.ConnectionString };

    [Fact]
    public async Task Create_user_prints_one_json_line_with_a_working_key_and_grants_the_credits()
    {
        var email = $"op{Guid.NewGuid():N}@example.com";
        var run = await ServerProcess.RunAsync(["admin", "create-user", "--email", email, "--name", "Op", "--handle", $"h{Guid.NewGuid():N}"[..12], "--credits", "250"], Env);

        Assert.True(run.ExitCode == 0, run.Stderr);
        var line = Assert.Single(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var json = JsonNode.Parse(line)!.AsObject();
        Assert.Equal(["userId", "email", "apiKey"], json.Select(p => p.Key));
        Assert.Equal(email, (string?)json["email"]);
        Assert.Matches("^cb-pat-[0-9a-f]{64}$", (string?)json["apiKey"]);

        var me = await server.ClientFor(new TestUser((string)json["userId"]!, email, (string)json["apiKey"]!)).GetFromJsonAsync<JsonObject>("/api/v1/me?fields=id,email");
        Assert.Equal((string?)json["userId"], (string?)me!["id"]);

        await using var db = server.NewDbContext();
        var grant = await db.CreditLedger.SingleAsync(g => g.UserId == (string)json["userId"]!);
        Assert.Equal((GrantType.Admin, 250, 250, 60, (DateTime?)null), (grant.Type, grant.Principal, grant.Balance, grant.Priority, grant.ExpiresAt));
    }

    [Fact]
    public async Task Ban_and_unban_print_one_json_line_end_web_sessions_and_refuse_spending_in_between()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var web = await server.WebSessionTokenAsync(user);
        var ban = await ServerProcess.RunAsync(["admin", "ban", "--email", user.Email], Env);
        Assert.True(ban.ExitCode == 0, ban.Stderr);
        Assert.Equal($$"""{"userId":"{{user.Id}}","email":"{{user.Email}}","banned":true,"changed":true}""", Assert.Single(ban.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        await using (var db = server.NewDbContext())
        {
            Assert.True((await db.Users.SingleAsync(u => u.Id == user.Id)).Banned);
            Assert.False(await db.Sessions.AnyAsync(s => s.UserId == user.Id && s.Type == SessionType.Web));
        }
        using var client = server.ClientFor(user);
        var refused = await client.PostAsJsonAsync("/api/v1/agent-runs", new { action = "START", agentId = "x" });
        Assert.Equal((HttpStatusCode.Forbidden, "account_suspended"), (refused.StatusCode, (string?)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["error"]));

        var unban = await ServerProcess.RunAsync(["admin", "unban", "--email", user.Email], Env);
        Assert.True(unban.ExitCode == 0, unban.Stderr);
        Assert.Equal($$"""{"userId":"{{user.Id}}","email":"{{user.Email}}","banned":false,"changed":true}""", unban.Stdout.Trim());
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/agent-runs", new { action = "START", agentId = "x" })).StatusCode);
        var again = await ServerProcess.RunAsync(["admin", "unban", "--email", user.Email], Env);
        Assert.Equal((0, $$"""{"userId":"{{user.Id}}","email":"{{user.Email}}","banned":false,"changed":false}"""), (again.ExitCode, again.Stdout.Trim()));
        // The web session a ban ended stays ended.
        using var browser = new HttpClient { BaseAddress = server.BaseAddress };
        browser.DefaultRequestHeaders.Add("Cookie", $"{Codebuff.Server.Auth.WebSession.Cookie}={web}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/user/profile")).StatusCode);
    }

    [Fact]
    public async Task Create_user_without_credits_adds_no_grant()
    {
        var run = await ServerProcess.RunAsync(["admin", "create-user", "--email", $"n{Guid.NewGuid():N}@example.com"], Env);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var userId = (string)JsonNode.Parse(run.Stdout)!["userId"]!;
        await using var db = server.NewDbContext();
        Assert.False(await db.CreditLedger.AnyAsync(g => g.UserId == userId));
        Assert.Equal(SessionType.Pat, (await db.Sessions.SingleAsync(s => s.UserId == userId)).Type);
    }

    [Fact]
    public async Task Grant_adds_a_typed_expiring_grant_and_prints_the_new_balance()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var run = await ServerProcess.RunAsync(["admin", "grant", "--email", user.Email, "--credits", "40", "--type", "free", "--expires-in-days", "3"], Env);

        Assert.True(run.ExitCode == 0, run.Stderr);
        var balance = JsonNode.Parse(run.Stdout)!;
        Assert.Equal(140, (int)balance["totalRemaining"]!);
        Assert.Equal(0, (int)balance["totalDebt"]!);
        Assert.Equal(40, (int)balance["breakdown"]!["free"]!);
        Assert.Equal(100, (int)balance["breakdown"]!["admin"]!);

        await using var db = server.NewDbContext();
        var free = await db.CreditLedger.SingleAsync(g => g.UserId == user.Id && g.Type == GrantType.Free);
        Assert.Equal(20, free.Priority);
        Assert.InRange(free.ExpiresAt!.Value, DateTime.UtcNow.AddDays(3).AddMinutes(-5), DateTime.UtcNow.AddDays(3).AddMinutes(5));
    }

    [Theory]
    [InlineData(new[] { "admin", "create-user" }, "--email")]
    [InlineData(new[] { "admin", "create-user", "--email", "not-an-email" }, "not an e-mail address")]
    [InlineData(new[] { "admin", "create-user", "--email", "a@b.c", "--credits", "lots" }, "lots")]
    [InlineData(new[] { "admin", "grant", "--email", "a@b.c", "--credits", "-5" }, "--credits must be a positive number")]
    [InlineData(new[] { "admin", "grant", "--email", "nobody@example.com", "--credits", "5" }, "no user with e-mail nobody@example.com")]
    [InlineData(new[] { "admin", "grant", "--email", "a@b.c", "--credits", "5", "--type", "gift" }, "gift")]
    [InlineData(new[] { "admin", "revoke-sessions", "--email", "nobody@example.com" }, "no user with e-mail nobody@example.com")]
    [InlineData(new[] { "admin", "revoke-sessions" }, "--email")]
    [InlineData(new[] { "admin", "ban" }, "--email")]
    [InlineData(new[] { "admin", "ban", "--email", "nobody@example.com" }, "no user with e-mail nobody@example.com")]
    [InlineData(new[] { "admin", "unban", "--email", "nobody@example.com" }, "no user with e-mail nobody@example.com")]
    [InlineData(new[] { "admin", "frobnicate" }, "usage:")]
    [InlineData(new[] { "admin" }, "usage:")]
    [InlineData(new[] { "serve-please" }, "usage:")]
    public async Task Bad_arguments_print_a_message_and_exit_2(string[] args, string expected)
    {
        var run = await ServerProcess.RunAsync(args, Env);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr); // no stack trace
        Assert.Equal("", run.Stdout.Trim());
    }

    [Fact]
    public async Task The_usage_text_names_every_admin_command_and_each_of_its_options()
    {
        var run = await ServerProcess.RunAsync(["admin"], Env);
        var lines = run.Stderr.Split('\n');
        var admin = AdminCommands.Build(_ => throw new InvalidOperationException(), TextWriter.Null).Subcommands.Single(c => c.Name == "admin");
        foreach (var command in admin.Subcommands)
        {
            // A command may have a usage line per form (grant --email / grant --org); together they list its options.
            var usage = string.Join(" ", lines.Where(l => l.Contains($" admin {command.Name}", StringComparison.Ordinal)));
            Assert.False(usage.Length == 0, $"no usage line for admin {command.Name}");
            foreach (var option in command.Options.Where(o => !o.Hidden && o.Name is not ("--help" or "-h" or "-?")))
                Assert.True(usage.Contains(option.Name + " ", StringComparison.Ordinal) || usage.Contains(option.Name + "]", StringComparison.Ordinal),
                    $"admin {command.Name}: {option.Name} is missing from the usage text");
        }
    }

    [Fact]
    public async Task Duplicate_email_is_refused_and_writes_nothing()
    {
        var user = await server.CreateUserAsync();
        var run = await ServerProcess.RunAsync(["admin", "create-user", "--email", user.Email, "--credits", "10"], Env);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"a user with e-mail {user.Email} already exists", run.Stderr);
        await using var db = server.NewDbContext();
        Assert.Equal(1, await db.Users.CountAsync(u => u.Email == user.Email));
        Assert.False(await db.CreditLedger.AnyAsync(g => g.UserId == user.Id));
    }

    [Fact]
    public async Task Stdout_holds_only_the_json_line_even_with_information_logging()
    {
        var env = Env;
        env["Logging__LogLevel__Default"] = "Information"; // what a server without settings logs: every SQL statement
        var run = await ServerProcess.RunAsync(["admin", "create-user", "--email", $"quiet{Guid.NewGuid():N}@example.com", "--credits", "5"], env);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var line = Assert.Single(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.NotNull(JsonNode.Parse(line)!["apiKey"]);
        Assert.Equal("", run.Stderr);

        var failed = await ServerProcess.RunAsync(["admin", "grant", "--email", "nobody@example.com", "--credits", "5"], env);
        Assert.Equal(2, failed.ExitCode);
        Assert.Equal("", failed.Stdout);
        Assert.Equal("error: no user with e-mail nobody@example.com", Assert.Single(failed.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task List_users_prints_every_user_as_one_json_array()
    {
        var first = await server.CreateUserAsync();
        var second = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == second.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Banned, true).SetProperty(u => u.Handle, "second"));

        var run = await ServerProcess.RunAsync(["admin", "list-users"], Env);
        Assert.True(run.ExitCode == 0, run.Stderr);
        var users = JsonNode.Parse(Assert.Single(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)))!.AsArray();
        var listed = users.Single(u => (string?)u!["userId"] == second.Id)!.AsObject();
        Assert.Equal(["userId", "email", "name", "handle", "createdAt", "banned"], listed.Select(p => p.Key));
        Assert.Equal((second.Email, "Test User", "second", true), ((string?)listed["email"], (string?)listed["name"], (string?)listed["handle"], (bool)listed["banned"]!));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", (string?)listed["createdAt"]);
        Assert.False((bool)users.Single(u => (string?)u!["userId"] == first.Id)!["banned"]!);
        await using var check = server.NewDbContext();
        Assert.Equal(await check.Users.CountAsync(), users.Count);
    }

    [Fact]
    public async Task Revoke_sessions_signs_the_user_out_everywhere_and_leaves_others_alone()
    {
        var user = await server.CreateUserAsync();
        var other = await server.CreateUserAsync();
        var fingerprint = $"fp-{Guid.NewGuid():N}";
        await using (var db = server.NewDbContext())
        {
            db.Fingerprints.Add(new Fingerprint { Id = fingerprint, SigHash = "claimed" });
            db.Sessions.Add(new Session { SessionToken = $"cli-{Guid.NewGuid():N}", UserId = user.Id, Type = SessionType.Cli, FingerprintId = fingerprint, Expires = DateTime.UtcNow.AddDays(1) });
            db.Sessions.Add(new Session { SessionToken = $"web-{Guid.NewGuid():N}", UserId = user.Id, Type = SessionType.Web, Expires = DateTime.UtcNow.AddDays(1) });
            await db.SaveChangesAsync();
        }
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(user).GetAsync("/api/v1/me?fields=id")).StatusCode);

        var run = await ServerProcess.RunAsync(["admin", "revoke-sessions", "--email", user.Email], Env);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal($$"""{"userId":"{{user.Id}}","email":"{{user.Email}}","revoked":3}""", run.Stdout.Trim());

        Assert.Equal(HttpStatusCode.Unauthorized, (await server.ClientFor(user).GetAsync("/api/v1/me?fields=id")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(other).GetAsync("/api/v1/me?fields=id")).StatusCode);
        await using var after = server.NewDbContext();
        Assert.False(await after.Sessions.AnyAsync(s => s.UserId == user.Id));
        Assert.Null((await after.Fingerprints.SingleAsync(f => f.Id == fingerprint)).SigHash);
    }

    [Fact]
    public async Task Delete_user_leaves_a_tombstone_whose_key_is_refused_and_refuses_a_publisher_owner()
    {
        var user = await server.CreateUserAsync(credits: 100);
        var run = await ServerProcess.RunAsync(["admin", "delete-user", "--email", user.Email], Env);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal($$"""{"userId":"{{user.Id}}","email":"{{user.Email}}","tombstoneEmail":"deleted-{{user.Id}}@deleted.invalid"}""", run.Stdout.Trim());
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.ClientFor(user).GetAsync("/api/v1/me?fields=id")).StatusCode);
        await using (var db = server.NewDbContext())
        {
            Assert.Equal($"deleted-{user.Id}@deleted.invalid", (await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id)).Email);
            Assert.Equal(100, await db.CreditLedger.Where(g => g.UserId == user.Id).SumAsync(g => g.Principal));
        }

        var owner = await server.CreateUserAsync();
        var publisher = $"p{Guid.NewGuid():N}"[..12];
        Assert.Equal(HttpStatusCode.Created, (await server.ClientFor(owner).PostAsJsonAsync("/api/publishers", new { id = publisher, name = "Operator test" })).StatusCode);
        var refused = await ServerProcess.RunAsync(["admin", "delete-user", "--email", owner.Email], Env);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"You own the publisher '{publisher}'", refused.Stderr);
        Assert.Equal(HttpStatusCode.OK, (await server.ClientFor(owner).GetAsync("/api/v1/me?fields=id")).StatusCode);
    }
}
