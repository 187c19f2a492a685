using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Codebuff.Server.Tests.Infrastructure;

/// <summary>
/// One throwaway PostgreSQL cluster per test run, started by the server's own launcher, holding a migrated template
/// database. Every test class gets its own database cloned from the template (CREATE DATABASE … TEMPLATE), so
/// classes run in parallel without seeing each other's rows and without paying for migrations again.
/// </summary>
public static class TestCluster
{
    const string Template = "codebuff_template";
    static readonly SemaphoreSlim Gate = new(1, 1);
    static EmbeddedPostgres? _pg;
    static string? _root;

    public static async Task<string> CreateDatabaseAsync()
    {
        var pg = await StartAsync();
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync(pg, $"CREATE DATABASE \"{name}\" TEMPLATE \"{Template}\"");
        return new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>An empty database with no schema, for tests of migrations themselves.</summary>
    public static async Task<string> CreateEmptyDatabaseAsync()
    {
        var pg = await StartAsync();
        var name = "e_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAsync(pg, $"CREATE DATABASE \"{name}\"");
        return new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = name }.ConnectionString;
    }

    public static async Task<EmbeddedPostgres> StartAsync()
    {
        if (_pg is not null) return _pg;
        await Gate.WaitAsync();
        try
        {
            if (_pg is not null) return _pg;
            _root = Path.Combine(Path.GetTempPath(), "codebuff-tests-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(_root);
            if (Environment.UserName == "root") File.SetUnixFileMode(_root, (UnixFileMode)0b111_101_101);
            var pg = await EmbeddedPostgres.StartAsync(_root, durable: false);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();

            await ExecuteAsync(pg, $"CREATE DATABASE \"{Template}\"");
            var options = new DbContextOptionsBuilder<AppDbContext>();
            var templateCs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = Template, Pooling = false }.ConnectionString;
            AppDbContext.Configure(options, templateCs);
            await using (var db = new AppDbContext(options.Options))
                await db.Database.MigrateAsync();
            NpgsqlConnection.ClearAllPools();
            _pg = pg;
            return pg;
        }
        finally
        {
            Gate.Release();
        }
    }

    static async Task ExecuteAsync(EmbeddedPostgres pg, string sql)
    {
        var cs = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        // Named, as the server's own data sources are: the metrics tests check no pool is labelled with a connection string.
        await using var source = new NpgsqlDataSourceBuilder(cs) { Name = "tests-admin" }.Build();
        await using var conn = source.CreateConnection();
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    static void Shutdown()
    {
        try
        {
            _pg?.StopAsync().GetAwaiter().GetResult();
            if (_root is not null) Directory.Delete(_root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temp directory does no harm.
        }
    }
}
