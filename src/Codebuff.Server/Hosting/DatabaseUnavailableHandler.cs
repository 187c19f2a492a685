using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Codebuff.Server.Hosting;

/// <summary>
/// The one mapping from "the database cannot be reached right now" to an answer, for every route: 503 with
/// Retry-After and a JSON body instead of a 500. The database being down is an outage to wait out, not a bug.
/// </summary>
sealed class DatabaseUnavailableHandler(ILogger<DatabaseUnavailableHandler> log) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (!IsUnavailable(exception) || context.Response.HasStarted) return false;
        log.LogDebug("{Method} {Path}: database unavailable: {Message}", context.Request.Method, context.Request.Path, exception.Message);
        await WriteAsync(context);
        return true;
    }

    public static Task WriteAsync(HttpContext context)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
        return HttpErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "database_unavailable",
            $"The database is unavailable right now. Try again in {RetryAfterSeconds} seconds.");
    }

    /// <summary>
    /// True for failures to reach PostgreSQL at all: a refused or broken connection, a server shutting down or
    /// starting up, too many connections, no pooled connection free in time. Errors of the statement itself are not.
    /// </summary>
    public static bool IsUnavailable(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection_exception class
                           || pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                               or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections
                               or PostgresErrorCodes.DatabaseDropped;
                case NpgsqlException npgsql when npgsql.InnerException is SocketException or IOException or TimeoutException or EndOfStreamException:
                    return true;
                case NpgsqlException npgsql when npgsql.InnerException is null && npgsql.IsTransient:
                    return true;
            }
        }
        return false;
    }
}
