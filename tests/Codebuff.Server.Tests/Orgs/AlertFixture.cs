using System.Collections.Concurrent;
using System.Text;
using Codebuff.Server.Billing;
using Codebuff.Server.Data;
using Codebuff.Server.Hosting;
using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Payments;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Orgs;

/// <summary>
/// Two server instances on one database, sharing a settable clock, a fake Stripe and one e-mail sender that keeps what
/// both sent; the alert sweeper runs every 0.1 s on each.
/// </summary>
public sealed class AlertFixture : ServerFixture
{
    WebApplication? _second;

    public FakeStripe Stripe { get; private set; } = null!;
    public FakeClock Clock { get; } = new(DateTimeOffset.UtcNow);
    public ConcurrentQueue<EmailMessage> Emails { get; } = new();
    public IServiceProvider SecondServices => _second!.Services;
    public Uri SecondAddress { get; private set; } = null!;

    protected override Dictionary<string, string?> Settings()
    {
        var s = base.Settings();
        s["Codebuff:Stripe:SecretKey"] = FakeStripe.SecretKey;
        s["Codebuff:Stripe:WebhookSecret"] = FakeStripe.WebhookSecret;
        s["Codebuff:Stripe:ApiBase"] = Stripe.Url;
        s["Codebuff:Alerts:SweepSeconds"] = "0.1";
        return s;
    }

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(Clock);
        services.AddSingleton<IEmailSender>(new CapturingEmailSender(Emails));
    }

    public override async Task InitializeAsync()
    {
        Stripe = await FakeStripe.StartAsync();
        await base.InitializeAsync();
        var settings = Settings();
        settings["Codebuff:DataDir"] = DataDir + "-2";
        _second = await StartServerAsync(ConnectionString, settings, ConfigureServices);
        SecondAddress = new Uri(_second.Urls.First());
    }

    public override async Task DisposeAsync()
    {
        if (_second is not null) await _second.DisposeAsync();
        await base.DisposeAsync();
        await Stripe.DisposeAsync();
        try { Directory.Delete(DataDir + "-2", recursive: true); } catch (DirectoryNotFoundException) { }
    }

    /// <summary>Both instances: (services, base address).</summary>
    public (IServiceProvider Services, Uri Address)[] Instances => [(Services, BaseAddress), (SecondServices, SecondAddress)];

    public HttpClient ClientFor(TestUser user, Uri address)
    {
        var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = new("Bearer", user.ApiKey);
        return client;
    }

    /// <summary>Charges the org through the billing queue of the given instance, as a proxied call does; returns once written.</summary>
    public async Task ChargeAsync(IServiceProvider instance, string orgId, TestUser user, int credits, string repo = "https://github.com/acme/app")
    {
        var id = $"gen-{Guid.NewGuid():N}";
        await instance.GetRequiredService<ChargeQueue>().SubmitAsync(new Charge(Guid.NewGuid(), user.Id, orgId, id, Clock.GetUtcNow().UtcDateTime, null, null, "m",
            null, null, "\"\"", 1, 0, null, 1, 0.1m, credits, false, null, true)
        { RepoUrl = repo });
        await using var db = NewDbContext();
        await PaymentFixture.EventuallyAsync(() => db.Messages.AnyAsync(m => m.Id == id), "the charge written");
    }

    public async Task GrantAsync(string orgId, TestUser payer, int credits)
    {
        await using var scope = Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<CreditLedger>().GrantAsync(LedgerOwner.Org(orgId), $"org-{orgId}-{Guid.NewGuid():N}",
            payer.Id, credits, GrantType.Organization, "test credits", null);
    }

    /// <summary>Delivers a webhook body to one instance as Stripe does.</summary>
    public static async Task<HttpResponseMessage> DeliverAsync(Uri address, string body)
    {
        using var client = new HttpClient { BaseAddress = address };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/stripe/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", FakeStripe.Sign(body));
        return await client.SendAsync(request);
    }
}
