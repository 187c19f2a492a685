using System.Collections.Concurrent;
using Codebuff.Server.Billing;
using Stripe;

namespace Codebuff.Server.Payments;

/// <summary>
/// Auto top-up for users (api.md §7.8) and organizations (§7.9). Evaluated after every committed charge
/// (<see cref="AfterCharge"/>, in the background so the call that crossed the threshold is not slowed) and on usage
/// reads (<see cref="RunAsync"/>, awaited, so the answer can say it triggered).
/// At most one charge per trigger: evaluations of one owner run one at a time in this process and each re-reads the
/// balance, so once a top-up has landed the next sees no need; across instances the operation id of the current
/// minute is Stripe's idempotency key (a second instance gets the same PaymentIntent back) and the grant's key.
/// The ledger lock is never held across the Stripe call: the balance is read, Stripe is called, then the grant takes
/// the lock. A refused card (or no usable one) turns auto top-up off and records why (payments.auto_topup_block);
/// a transient Stripe error just skips this evaluation. Errors are logged, never surfaced to the caller.
/// Bounded (<see cref="AutoTopUpLimits"/>): amount and threshold are capped again here, and each charge is recorded
/// (<see cref="AutoTopUpCharges"/>) before Stripe is asked, so an owner gets at most MaxChargesPerDay in any 24 hours.
/// </summary>
public sealed class AutoTopUp(IServiceScopeFactory scopes, StripePayments stripe, PaymentGrants grants, IOptions<AutoTopUpLimits> limits, TimeProvider clock,
    Orgs.OrgAlerts alerts, ILogger<AutoTopUp> log)
{
    public const int MinimumCredits = AutoTopUpLimits.MinimumAmount;

    AutoTopUpLimits Limits => limits.Value;

    readonly ConcurrentDictionary<LedgerOwner, SemaphoreSlim> _gates = new();
    // Owners with an evaluation queued but not started: further nudges meanwhile are covered by it.
    readonly ConcurrentDictionary<LedgerOwner, byte> _queued = new();

    /// <summary>The consumption hook (Billing/BillingSetup.cs): schedules one evaluation for the owner unless one is already waiting.</summary>
    public void AfterCharge(LedgerOwner owner)
    {
        if (!stripe.Configured || !_queued.TryAdd(owner, 0)) return;
        _ = Task.Run(async () =>
        {
            try { await RunAsync(owner, CancellationToken.None, dequeue: true); }
            catch (Exception e) { log.LogError(e, "auto top-up of {Owner} failed", owner.LockKey); }
        });
    }

    /// <summary>Evaluates and, when due, charges and grants; true when credits were added.</summary>
    public async Task<bool> RunAsync(LedgerOwner owner, CancellationToken ct) => stripe.Configured && await RunAsync(owner, ct, dequeue: false);

    async Task<bool> RunAsync(LedgerOwner owner, CancellationToken ct, bool dequeue)
    {
        var gate = _gates.GetOrAdd(owner, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            if (dequeue) _queued.TryRemove(owner, out _);
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
            return await EvaluateAsync(db, ledger, owner, ct);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("auto top-up of {Owner} skipped: {Error}", owner.LockKey, e.Message);
            return false;
        }
        finally
        {
            gate.Release();
        }
    }

    sealed record Plan(string CustomerId, int Credits, string OperationId, string PayerUserId);

    async Task<bool> EvaluateAsync(AppDbContext db, CreditLedger ledger, LedgerOwner owner, CancellationToken ct)
    {
        var plan = owner.OrgId is null ? await PlanForUserAsync(db, ledger, owner.UserId!, ct) : await PlanForOrgAsync(db, ledger, owner.OrgId, ct);
        if (plan is null) return false;

        ChargeableMethod? method;
        try
        {
            method = await stripe.ChargeableMethodAsync(plan.CustomerId, orFirst: owner.OrgId is not null, ct);
        }
        catch (StripeException e) when (e.StripeError?.Code == "resource_missing")
        {
            await DisableAsync(db, owner, "The Stripe customer no longer exists", ct);
            return false;
        }
        if (method is null)
        {
            await DisableAsync(db, owner, "No valid payment method: add a card that has not expired", ct);
            return false;
        }

        var description = $"Auto top-up of {plan.Credits} credits";
        var grant = new PaidGrant(plan.OperationId, plan.PayerUserId, owner.OrgId, plan.Credits,
            owner.OrgId is null ? GrantType.Purchase : GrantType.Organization, description);
        var metadata = CreditPurchases.Metadata(grant, owner.OrgId is null ? "purchase" : "organization_purchase", type: "auto-topup");
        if (!await AutoTopUpCharges.TryRecordAsync(db, owner, plan.OperationId, plan.Credits, Limits.MaxChargesPerDay, clock.GetUtcNow().UtcDateTime, ct))
        {
            log.LogWarning("auto top-up of {Owner} skipped: {Cap} automatic charges in the last 24 hours", owner.LockKey, Limits.MaxChargesPerDay);
            return false;
        }
        PaymentIntent intent;
        try
        {
            intent = await stripe.ChargeOffSessionAsync(plan.CustomerId, method.Id, plan.Credits, metadata, plan.OperationId, description, ct);
        }
        catch (StripeException e) when (StripePayments.IsCardFailure(e))
        {
            var reason = $"Your card was declined: {e.StripeError?.Message ?? e.Message}";
            await AutoTopUpCharges.SetStatusAsync(db, plan.OperationId, AutoTopUpCharges.Declined, reason, ct);
            await DisableAsync(db, owner, reason, ct);
            return false;
        }
        catch (StripeException e)
        {
            await AutoTopUpCharges.SetStatusAsync(db, plan.OperationId, AutoTopUpCharges.Failed, e.StripeError?.Message ?? e.Message, CancellationToken.None);
            throw;
        }
        if (intent.Status != "succeeded")
        {
            var reason = $"The auto top-up payment did not complete (status {intent.Status})";
            await AutoTopUpCharges.SetStatusAsync(db, plan.OperationId, AutoTopUpCharges.Failed, reason, ct);
            await DisableAsync(db, owner, reason, ct);
            return false;
        }
        await AutoTopUpCharges.SetStatusAsync(db, plan.OperationId, AutoTopUpCharges.Succeeded, null, ct);
        log.LogInformation("auto top-up {OperationId}: charged {Credits} credits", plan.OperationId, plan.Credits);
        await grants.GrantAsync(grant, ct);
        return true;
    }

    async Task<Plan?> PlanForUserAsync(AppDbContext db, CreditLedger ledger, string userId, CancellationToken ct)
    {
        // A suspended user's card is never charged (and no credits granted) behind their back.
        var user = await db.Users.AsNoTracking().Where(u => u.Id == userId && !u.Banned)
            .Select(u => new { u.AutoTopupEnabled, u.AutoTopupThreshold, u.AutoTopupAmount, u.StripeCustomerId }).FirstOrDefaultAsync(ct);
        if (user is not { AutoTopupEnabled: true, AutoTopupThreshold: { } threshold, AutoTopupAmount: { } amount }) return null;
        if (user.StripeCustomerId is null)
        {
            await DisableAsync(db, LedgerOwner.User(userId), "No Stripe customer: buy credits once to save a card", ct);
            return null;
        }
        var owner = LedgerOwner.User(userId);
        threshold = Math.Min(threshold, Limits.MaxThreshold(owner));
        var balance = await ledger.GetBalanceAsync(owner, ct);
        if (balance.TotalRemaining >= threshold && balance.TotalDebt <= 0) return null;
        // [our choice] a debt larger than the top-up amount is paid off only up to the largest amount: upstream
        // charges the whole debt, however large, to the card.
        var credits = Math.Min(balance.TotalDebt > 0 ? Math.Max(amount, balance.TotalDebt) : amount, Limits.MaxAmount(owner));
        if (credits < MinimumCredits) return null;
        return new Plan(user.StripeCustomerId, credits, $"auto-topup-{userId}-{CreditPurchases.Minute(clock)}", userId);
    }

    async Task<Plan?> PlanForOrgAsync(AppDbContext db, CreditLedger ledger, string orgId, CancellationToken ct)
    {
        var org = await db.Orgs.AsNoTracking().Where(o => o.Id == orgId)
            .Select(o => new { o.AutoTopupEnabled, o.AutoTopupThreshold, o.AutoTopupAmount, o.StripeCustomerId, o.OwnerId }).FirstOrDefaultAsync(ct);
        if (org is not { AutoTopupEnabled: true, StripeCustomerId: { } customer }) return null;
        var owner = LedgerOwner.Org(orgId);
        var balance = await ledger.GetBalanceAsync(owner, ct);
        if (balance.NetBalance > Math.Min(org.AutoTopupThreshold, Limits.MaxThreshold(owner)) || org.AutoTopupAmount < MinimumCredits) return null;
        return new Plan(customer, Math.Min(org.AutoTopupAmount, Limits.MaxAmount(owner)), $"org-auto-topup-{orgId}-{CreditPurchases.Minute(clock)}", org.OwnerId);
    }

    /// <summary>Turns auto top-up off for the owner and records why, in one transaction; an org's admins get the billing alert.</summary>
    public async Task DisableAsync(AppDbContext db, LedgerOwner owner, string reason, CancellationToken ct)
    {
        log.LogWarning("auto top-up of {Owner} disabled: {Reason}", owner.LockKey, reason);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (owner.OrgId is null)
            await db.Users.Where(u => u.Id == owner.UserId).ExecuteUpdateAsync(s => s.SetProperty(u => u.AutoTopupEnabled, false), ct);
        else
            await db.Orgs.Where(o => o.Id == owner.OrgId).ExecuteUpdateAsync(s => s.SetProperty(o => o.AutoTopupEnabled, false), ct);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO payments.auto_topup_block (owner, reason) VALUES ({owner.LockKey}, {reason})
            ON CONFLICT (owner) DO UPDATE SET reason = excluded.reason, blocked_at = now()
            """, ct);
        await tx.CommitAsync(ct);
        await alerts.PaymentFailedAsync(owner, Orgs.OrgAlertKind.AutoTopupFailed, reason, ct);
    }

    /// <summary>Why auto top-up is off for the owner, or null.</summary>
    public static Task<string?> BlockedReasonAsync(AppDbContext db, LedgerOwner owner, CancellationToken ct) =>
        db.Database.SqlQuery<string>($"SELECT reason AS \"Value\" FROM payments.auto_topup_block WHERE owner = {owner.LockKey}").FirstOrDefaultAsync(ct);

    /// <summary>The owner turned auto top-up on again: the old reason no longer applies.</summary>
    public static Task ClearBlockAsync(AppDbContext db, LedgerOwner owner, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync($"DELETE FROM payments.auto_topup_block WHERE owner = {owner.LockKey}", ct);

    /// <summary>
    /// A user's auto top-up settings (POST /api/user/auto-topup and the profile's form): enabling needs both values,
    /// an amount of <see cref="AutoTopUpLimits.MinimumAmount"/> to UserMaxAmount credits and [our choice] a threshold of
    /// 0 to UserMaxThreshold (upstream leaves it unbounded). Null when saved, otherwise why not.
    /// </summary>
    public static async Task<Refusal?> SaveSettingsAsync(AppDbContext db, AutoTopUpLimits limits, string userId, bool enabled, int? threshold, int? amount,
        CancellationToken ct)
    {
        if (enabled)
        {
            if (threshold is null || amount is null) return new(400, "Threshold and amount are required when enabling auto top-up");
            var owner = LedgerOwner.User(userId);
            if ((limits.AmountProblem(owner, amount.Value) ?? limits.ThresholdProblem(owner, threshold.Value)) is { } problem) return new(400, problem);
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s.SetProperty(u => u.AutoTopupEnabled, enabled)
            .SetProperty(u => u.AutoTopupThreshold, threshold).SetProperty(u => u.AutoTopupAmount, amount), ct);
        // Turning it on is the owner's answer to whatever switched it off.
        if (enabled) await ClearBlockAsync(db, LedgerOwner.User(userId), ct);
        await tx.CommitAsync(ct);
        return null;
    }
}
