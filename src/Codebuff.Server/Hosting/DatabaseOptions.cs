using Npgsql;

namespace Codebuff.Server.Hosting;

/// <summary>
/// Section "Codebuff:Database". One connection pool per instance (EF Core and the hand-written billing SQL share it).
/// Size it so that instances × MaxPoolSize stays below PostgreSQL's max_connections minus its reserved connections
/// (superuser_reserved_connections, 3 by default) and whatever else connects: with the stock max_connections = 100,
/// three instances at the default 25 use 75. A request that finds the pool busy waits for a connection (up to the
/// connection string's Timeout, 15 s by default) rather than opening one past the limit.
/// </summary>
public static class DatabaseOptions
{
    public const int DefaultPoolSize = 25;

    public static int PoolSize(IConfiguration config) => config.GetValue("Codebuff:Database:MaxPoolSize", DefaultPoolSize);

    /// <summary>The connection string with this instance's pool size.</summary>
    public static string WithPoolSize(string connectionString, IConfiguration config) =>
        new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = PoolSize(config) }.ConnectionString;
}
