namespace Codebuff.Ledger;

/// <summary>Registers the ledger's services, one call in the server's composition root.</summary>
public static class LedgerSetup
{
    /// <summary>
    /// The ledger (scoped, on the request's AppDbContext), the charge journal under <paramref name="dataDir"/>/billing,
    /// the charge queue and the hold keeper (one each per instance), with options from section "Codebuff:Billing".
    /// </summary>
    /// <param name="poolSize">The database connection pool's size: charge writers take at most half of it.</param>
    public static IServiceCollection AddLedger(this IServiceCollection services, IConfiguration config, string dataDir, int poolSize,
        Func<IServiceProvider, LedgerHooks> hooks)
    {
        services.AddScoped<CreditLedger>();
        services.Configure<BillingOptions>(config.GetSection("Codebuff:Billing"));
        services.AddSingleton(_ => new ChargeJournal(dataDir));
        services.AddSingleton(hooks);
        services.AddSingleton(sp => new ChargeQueue(sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<ChargeJournal>(),
            sp.GetRequiredService<IOptions<BillingOptions>>(), poolSize, sp.GetRequiredService<ILogger<ChargeQueue>>(),
            sp.GetRequiredService<LedgerHooks>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => sp.GetRequiredService<ChargeQueue>());
        services.AddSingleton(sp => new HoldKeeper(sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<IOptions<BillingOptions>>(),
            sp.GetRequiredService<ILogger<HoldKeeper>>()));
        services.AddHostedService(sp => sp.GetRequiredService<HoldKeeper>());
        return services;
    }
}
