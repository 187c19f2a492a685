namespace Codebuff.Server.Payments;

public static class PaymentsSetup
{
    public static IServiceCollection AddPayments(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<StripeOptions>(config.GetSection("Codebuff:Stripe"));
        services.Configure<AutoTopUpLimits>(config.GetSection("Codebuff:AutoTopUp"));
        services.AddSingleton<StripePayments>();
        services.AddSingleton<StripeCustomers>();
        services.AddSingleton<PaymentGrants>();
        services.AddSingleton<CreditPurchases>();
        services.AddSingleton<AutoTopUp>();
        services.AddScoped<StripeWebhook>();
        services.AddSingleton<SyncFailureRetrier>();
        services.AddHostedService(sp => sp.GetRequiredService<SyncFailureRetrier>());
        return services;
    }

    public static void MapPayments(this IEndpointRouteBuilder app)
    {
        app.MapPurchases();
        app.MapAutoTopUp();
    }
}
