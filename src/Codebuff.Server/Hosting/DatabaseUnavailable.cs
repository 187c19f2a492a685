using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;

namespace Codebuff.Server.Hosting;

/// <summary>
/// The 503 a request gets instead of a 500 when the database cannot be reached (<see cref="DatabaseUnavailable"/>, in
/// Codebuff.Data, tells those failures from bugs).
/// </summary>
public static class DatabaseUnavailableAnswer
{
    extension(DatabaseUnavailable)
    {
        public static CodedResult Result(HttpResponse response)
        {
            response.Headers.RetryAfter = DatabaseUnavailable.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Errors.Coded(StatusCodes.Status503ServiceUnavailable, "database_unavailable",
                $"The database is unavailable right now. Try again in {DatabaseUnavailable.RetryAfterSeconds} seconds.");
        }
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
