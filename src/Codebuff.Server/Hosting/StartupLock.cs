namespace Codebuff.Server.Hosting;

/// <summary>
/// One PostgreSQL advisory lock (session level) held while an instance migrates the schema, checks the secrets and
/// seeds the built-in agents, so instances started together do this one at a time: the first migrates and seeds,
/// the others find nothing left to do. Held on the context's own connection; a process that dies releases it.
/// </summary>
public static class StartupLock
{
    // The two-key form never collides with the ledger's single-bigint owner locks.
    const int ClassId = 0x43424646, ObjectId = 1;

    public static async Task RunAsync(AppDbContext db, Func<Task> work, CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            // Polled rather than waited for in one statement: the other instance's migration may outlast a command timeout.
            while (!await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_lock({ClassId}, {ObjectId}) AS \"Value\"").SingleAsync(ct))
                await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
            try
            {
                await work();
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({ClassId}, {ObjectId})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
