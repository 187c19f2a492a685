using System.Data.Common;
using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;

namespace Codebuff.Server.Hosting;

/// <summary>
/// Telling "the database cannot be reached right now" (connection refused or cut, pool exhausted, server starting or
/// shutting down, lock timeout) from bugs, and the 503 such a request gets instead of a 500.
/// </summary>
public static class DatabaseUnavailable
{
    public const int RetryAfterSeconds = 5;

    /// <summary>
    /// True for failures to reach PostgreSQL at all (refused or broken connection, server shutting down or starting
    /// up, too many connections, no pooled connection free in time) and for the owner-lock timeout; errors of the
    /// statement itself are not.
    /// </summary>
    public static bool Is(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection_exception
                        || pg.SqlState.StartsWith("53", StringComparison.Ordinal) // insufficient_resources
                        || pg.SqlState.StartsWith("57", StringComparison.Ordinal) // operator_intervention
                        || pg.SqlState == PostgresErrorCodes.LockNotAvailable;
                case NpgsqlException npgsql when npgsql.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException or EndOfStreamException:
                    return true;
                case NpgsqlException npgsql when npgsql.InnerException is null && npgsql.IsTransient:
                    return true;
                case TimeoutException:
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// After a connection-level failure the pool's idle connections are most likely dead too (the server restarted):
    /// drop them, so the next use opens a fresh one instead of discovering them one failure at a time.
    /// </summary>
    public static void ForgetConnections(DbConnection connection, Exception e)
    {
        if (ConnectionLost(e)) NpgsqlConnection.ClearAllPools(); // the shared rate limiter has a pool of its own
    }

    /// <summary>The server went away (refused, cut, shutting down) — unlike a busy pool or a lock timeout.</summary>
    public static bool ConnectionLost(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is System.Net.Sockets.SocketException or IOException or PostgresException { SqlState: "57P01" or "57P02" or "57P03" })
                return true;
        return false;
    }

    public static CodedResult Result(HttpResponse response)
    {
        response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Errors.Coded(StatusCodes.Status503ServiceUnavailable, "database_unavailable",
            $"The database is unavailable right now. Try again in {RetryAfterSeconds} seconds.");
    }
}

/// <summary>
/// Every route: a request that fails because the database cannot be reached (in the authentication handler, say)
/// gets the 503 above instead of a 500, and the pool forgets its dead connections.
/// </summary>
public sealed class DatabaseUnavailableHandler(ILogger<DatabaseUnavailableHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (!DatabaseUnavailable.Is(exception) || http.Response.HasStarted) return false;
        log.LogWarning("{Path} refused, database unavailable: {Error}", http.Request.Path, exception.Message);
        if (DatabaseUnavailable.ConnectionLost(exception)) NpgsqlConnection.ClearAllPools();
        await DatabaseUnavailable.Result(http.Response).ExecuteAsync(http);
        return true;
    }
}
