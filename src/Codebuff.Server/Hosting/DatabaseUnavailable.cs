using System.Data.Common;
using System.Globalization;
using Npgsql;

namespace Codebuff.Server.Hosting;

/// <summary>
/// Telling "the database cannot be reached right now" (connection refused or cut, pool exhausted, server starting or
/// shutting down, lock timeout) from bugs, and the 503 such a request gets instead of a 500.
/// </summary>
public static class DatabaseUnavailable
{
    public const int RetryAfterSeconds = 5;

    public static bool Is(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg)
                return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("53", StringComparison.Ordinal)
                    || pg.SqlState.StartsWith("57", StringComparison.Ordinal) || pg.SqlState == "55P03";
            if (e is NpgsqlException or TimeoutException) return true;
        }
        return false;
    }

    /// <summary>
    /// After a connection-level failure the pool's idle connections are most likely dead too (the server restarted):
    /// drop them, so the next use opens a fresh one instead of discovering them one failure at a time.
    /// </summary>
    public static void ForgetConnections(DbConnection connection, Exception e)
    {
        if (Is(e) && connection is NpgsqlConnection npgsql) NpgsqlConnection.ClearPool(npgsql);
    }

    public static IResult Result(HttpResponse response)
    {
        response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Results.Json(new
        {
            error = "service_unavailable",
            message = $"The database is unavailable right now. Try again in {RetryAfterSeconds} seconds.",
        }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
