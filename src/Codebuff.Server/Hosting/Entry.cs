using Codebuff.Server.Admin;
using Codebuff.Server.Postgres;
using Microsoft.AspNetCore.Connections;

namespace Codebuff.Server.Hosting;

/// <summary>The process entry: serve (default), "migrate", or "admin …". Operator mistakes end in one line and a non-zero exit.</summary>
public static class Entry
{
    const string Usage = """
        usage:
          Codebuff.Server [--urls http://host:port]        run the server (embedded PostgreSQL unless ConnectionStrings__Default is set)
          Codebuff.Server migrate                          apply database migrations and exit
          Codebuff.Server admin create-user --email E [--name N] [--handle H] [--credits C] [--password P]
          Codebuff.Server admin grant --email E --credits N [--type admin|free|referral|purchase] [--expires-in-days D]
          Codebuff.Server admin list-users
          Codebuff.Server admin revoke-sessions --email E
          Codebuff.Server admin ban --email E               suspend: web sessions end; CLI sessions and keys may no longer spend, publish or grant
          Codebuff.Server admin unban --email E
          Codebuff.Server admin delete-user --email E       sign out everywhere, erase personal data, keep billing facts
          Codebuff.Server admin sync-failures [--all]       payment sync failures left for an operator (--all: also those still retried)
          Codebuff.Server admin grant --org SLUG --credits N [--expires-in-days D]
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        EmbeddedPostgres? embedded = null;
        try
        {
            switch (args.FirstOrDefault())
            {
                case "migrate" when args.Length == 1:
                {
                    (var app, embedded) = await CreateAppAsync([], serving: false);
                    await MigrateAsync(app.Services);
                    Console.WriteLine("migrations applied");
                    return 0;
                }
                case "admin":
                    return await AdminAsync(args, pg => embedded = pg);
                case null:
                case not null when args[0].StartsWith('-') && args[0] is not ("-h" or "--help"):
                {
                    (var app, embedded) = await CreateAppAsync(args, serving: true);
                    await MigrateAsync(app.Services);
                    await app.RunAsync();
                    return 0;
                }
                default:
                    await Console.Error.WriteLineAsync(Usage);
                    return 2;
            }
        }
        catch (StartupException e) { return Fail(e.Message, 1); }
        catch (AdminException e) { return Fail(e.Message, 2); }
        catch (NpgsqlException e) { return Fail($"cannot reach the database: {e.Message}", 1); }
        // EF's execution strategy wraps a connection failure of the startup lock's query.
        catch (InvalidOperationException e) when (e.InnerException is NpgsqlException inner) { return Fail($"cannot reach the database: {inner.Message}", 1); }
        catch (IOException e) when (e.InnerException is AddressInUseException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            return Fail($"{e.Message} Stop the other process or choose another port with --urls.", 1);
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("CODEBUFF_DEBUG") is null)
        {
            return Fail($"unexpected {e.GetType().Name}: {e.Message} (set CODEBUFF_DEBUG=1 for details)", 1);
        }
        finally
        {
            if (embedded is not null) await embedded.DisposeAsync();
        }
    }

    static async Task<int> AdminAsync(string[] args, Action<EmbeddedPostgres?> started)
    {
        WebApplication? app = null;
        var root = AdminCommands.Build(async ct =>
        {
            (app, var pg) = await CreateAppAsync([], serving: false);
            started(pg);
            await MigrateAsync(app.Services, ct);
            return app.Services.CreateAsyncScope();
        }, Console.Out);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 || parse.CommandResult.Command.Name is "admin" or "Codebuff.Server")
        {
            foreach (var error in parse.Errors) await Console.Error.WriteLineAsync($"error: {error.Message}");
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }
        try
        {
            return await parse.InvokeAsync(new System.CommandLine.InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        finally
        {
            if (app is not null) await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Builds the app; with no connection string configured, starts the embedded cluster first (or joins the one
    /// already running). A serving app watches that cluster; the one-shot commands log nothing, so that their result
    /// is all they print.
    /// </summary>
    static async Task<(WebApplication, EmbeddedPostgres?)> CreateAppAsync(string[] args, bool serving)
    {
        // appsettings.json ships beside the binary; the working directory stays where .data/ lives.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (!serving) builder.Logging.ClearProviders();
        EmbeddedPostgres? pg = null;
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("Default")))
        {
            var dataDir = builder.Configuration["Codebuff:DataDir"] ?? new CodebuffOptions().DataDir;
            pg = await EmbeddedPostgres.StartAsync(dataDir, binDir: builder.Configuration["Codebuff:PostgresBinDir"]);
            builder.Configuration["ConnectionStrings:Default"] = pg.ConnectionString;
            if (serving)
            {
                builder.Services.AddSingleton(pg);
                builder.Services.AddHostedService<PostgresSupervisor>();
            }
        }
        return (ServerApp.Build(builder), pg);
    }

    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
        // Instances starting together take turns: the first migrates, the others find the schema current.
        await StartupLock.RunAsync(db, async () =>
        {
            // Asked first: Migrate itself also compares the model with the last snapshot (building the design-time
            // model), which was most of an admin command's time when the schema was already current.
            if ((await db.Database.GetPendingMigrationsAsync(ct)).Any()) await db.Database.MigrateAsync(ct);
            await scope.ServiceProvider.GetRequiredService<SecretFingerprints>().VerifyAsync(db, ct);
        }, ct);
        // A first migration creates the native enums after Npgsql cached this database's types; reload them.
        var conn = (NpgsqlConnection)db.Database.GetDbConnection();
        await conn.OpenAsync(ct);
        await conn.ReloadTypesAsync(ct);
    }

    static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }
}
