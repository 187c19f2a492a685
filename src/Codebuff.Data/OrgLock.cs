using Microsoft.EntityFrameworkCore.Storage;

namespace Codebuff.Server.Data;

/// <summary>The org row lock: what changes an org's members, invitations or repositories runs one change at a time per org.</summary>
public static class OrgLock
{
    /// <summary>
    /// Begins a transaction holding the org's row until it ends. NO KEY UPDATE leaves the org's key shareable, so
    /// billing inserts that reference the org never wait on it.
    /// </summary>
    public static async Task<IDbContextTransaction> BeginAsync(AppDbContext db, string orgId, CancellationToken ct)
    {
        var tx = await db.Database.BeginTransactionAsync(ct);
        try
        {
            await db.Database.ExecuteSqlAsync($"SELECT 1 FROM org WHERE id = {orgId} FOR NO KEY UPDATE", ct);
            return tx;
        }
        catch
        {
            await tx.DisposeAsync();
            throw;
        }
    }
}
