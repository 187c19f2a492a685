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

    /// <summary>
    /// The connection string with this instance's pool size and automatic preparation of the statements it repeats
    /// (the chat gate and the billing statement are planned once per connection instead of on every call). No reset
    /// on close: nothing here leaves session state behind (locks and settings are transaction-scoped), so a pooled
    /// connection need not be reset on every rent.
    /// </summary>
    public static string ForInstance(string connectionString, IConfiguration config)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = PoolSize(config), NoResetOnClose = true };
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = 50;
        return builder.ConnectionString;
    }
}
