using Codebuff.Server.Orgs;
using Codebuff.Server.Payments;

namespace Codebuff.Server.Billing;

public static class BillingSetup
{
    /// <summary>
    /// The ledger (Codebuff.Ledger), with what runs when it reports: after an owner's charges commit, its org's
    /// alerts and its auto top-up are nudged (both schedule their work in the background); a charge the database
    /// refuses outright is recorded in sync_failure (provider "billing") with the whole error, for an operator.
    /// </summary>
    public static IServiceCollection AddBilling(this IServiceCollection services, IConfiguration config, string dataDir) =>
        services.AddLedger(config, dataDir, DatabaseOptions.PoolSize(config), sp =>
        {
            var alerts = sp.GetRequiredService<OrgAlerts>();
            var autoTopUp = sp.GetRequiredService<AutoTopUp>();
            return new LedgerHooks(
                Charged: owner =>
                {
                    alerts.Nudge(owner);
                    autoTopUp.AfterCharge(owner);
                },
                Refused: (db, callId, error, ct) => SyncFailures.RecordAsync(db, callId, SyncFailures.Billing, error, ct, keepWholeError: true));
        });
}
