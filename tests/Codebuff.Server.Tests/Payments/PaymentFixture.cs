using System.Net.Http.Json;
using System.Text;
using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Payments;

/// <summary>
/// The server configured against a <see cref="FakeStripe"/>, with sync_failure retries every 0.2 s, and against a
/// <see cref="Auth.FakeGitHub"/> so that sign-up (which creates the Stripe customer) can be driven end to end.
/// </summary>
public sealed class PaymentFixture : ServerFixture
{
    public FakeStripe Stripe { get; private set; } = null!;
    public Auth.FakeGitHub GitHub { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        Stripe = await FakeStripe.StartAsync();
        GitHub = await Auth.FakeGitHub.StartAsync();
        await base.InitializeAsync();
    }

    /// <summary>A browser-like client: keeps cookies, follows redirects (to the fake GitHub and back).</summary>
    public HttpClient Browser() =>
        new(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = true }) { BaseAddress = BaseAddress };

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Codebuff:Stripe:SecretKey"] = FakeStripe.SecretKey;
        settings["Codebuff:Stripe:WebhookSecret"] = FakeStripe.WebhookSecret;
        settings["Codebuff:Stripe:ApiBase"] = Stripe.Url;
        settings["Codebuff:Stripe:RetryIntervalSeconds"] = "0.2";
        GitHub.Configure(settings);
        return settings;
    }

    /// <summary>Delivers a webhook body as Stripe does: raw JSON with its Stripe-Signature header.</summary>
    public async Task<HttpResponseMessage> DeliverAsync(string body, string? signature = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/stripe/webhook") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature ?? FakeStripe.Sign(body));
        return await Client.SendAsync(request);
    }

    /// <summary>A user whose purchase went to Checkout: the session id the server answered.</summary>
    public async Task<string> CheckoutAsync(TestUser user, int credits)
    {
        using var client = ClientFor(user);
        var response = await client.PostAsJsonAsync("/api/stripe/buy-credits", new { credits });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var node = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        return (string)node["sessionId"]!;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Stripe.DisposeAsync();
        await GitHub.DisposeAsync();
    }

    /// <summary>Polls until the condition holds (background work such as auto top-up or retries), failing after 15 s.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }
}
