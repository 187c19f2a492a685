namespace Codebuff.Ledger;

/// <summary>
/// What the server runs when the ledger reports something, given once to <see cref="LedgerSetup.AddLedger"/> by the
/// composition root: so the ledger calls Payments, Orgs and telemetry without knowing them (it references
/// Codebuff.Data only).
/// </summary>
/// <param name="Charged">
/// An owner's charges committed (its lock released). Runs on the owner's charge writer: it must return at once and
/// schedule any work in the background (auto top-up, org alerts).
/// </param>
/// <param name="Refused">
/// A charge the database refused outright (bad data, its user deleted) and no retry can fix: record it with its error
/// (id = the call id) in the given context. A throw counts as "not recorded" and the charge is tried again.
/// </param>
public sealed record LedgerHooks(
    Action<LedgerOwner> Charged,
    Func<AppDbContext, string, string, CancellationToken, Task> Refused);
