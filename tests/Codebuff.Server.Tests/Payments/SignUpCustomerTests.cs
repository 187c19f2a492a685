using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Codebuff.Server.Data;
using Codebuff.Server.Tests.Auth;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Payments;

/// <summary>api.md §5.1 and §5.5: sign-up and organization creation make the Stripe customer, and Stripe failing does not fail them.</summary>
public sealed class SignUpCustomerTests(PaymentFixture server) : IClassFixture<PaymentFixture>
{
    FakeStripe Stripe => server.Stripe;

    async Task<string> SignUpAsync(string email)
    {
        var id = Random.Shared.NextInt64(1_000_000, 900_000_000);
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(id, $"dev{id}", "Dev Eloper", email);
        using var browser = server.Browser();
        var page = await browser.GetAsync("/api/auth/signin/github?callbackUrl=%2Fonboard");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains($"signed in as {email}", await page.Content.ReadAsStringAsync());
        await using var db = server.NewDbContext();
        return await db.Users.Where(u => u.Email == email).Select(u => u.Id).SingleAsync();
    }

    [Fact]
    public async Task Signing_up_with_GitHub_creates_one_Stripe_customer_for_the_user()
    {
        var email = $"buyer{Guid.NewGuid():N}@example.com";
        var userId = await SignUpAsync(email);

        await using var db = server.NewDbContext();
        var user = await db.Users.AsNoTracking().SingleAsync(u => u.Id == userId);
        Assert.NotNull(user.StripeCustomerId);
        var customer = Stripe.Customers[user.StripeCustomerId!];
        Assert.Equal((userId, email), ((string)customer["metadata"]!["user_id"]!, (string?)customer["email"]));
        Assert.Equal(1, Stripe.Customers.Values.Count(c => (string?)c["metadata"]?["user_id"] == userId));
        Assert.Equal(500, await db.CreditLedger.Where(g => g.UserId == userId).SumAsync(g => g.Balance)); // the free grant as ever
        Assert.False(await db.SyncFailures.AnyAsync(f => f.Id == userId));

        // Signing in again keeps the customer and makes no other.
        using var again = server.Browser();
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/auth/signin/github")).StatusCode);
        Assert.Equal(user.StripeCustomerId, await db.Users.Where(u => u.Id == userId).Select(u => u.StripeCustomerId).SingleAsync());
        Assert.Equal(1, Stripe.Customers.Values.Count(c => (string?)c["metadata"]?["user_id"] == userId));
    }

    [Fact]
    public async Task A_Stripe_failure_at_sign_up_does_not_fail_it_and_is_retried_until_the_customer_exists()
    {
        var email = $"unlucky{Guid.NewGuid():N}@example.com";
        string userId;
        Stripe.FailCustomerCreation = true;
        try
        {
            userId = await SignUpAsync(email); // signed in despite Stripe answering 500
            await using var db = server.NewDbContext();
            Assert.Null(await db.Users.Where(u => u.Id == userId).Select(u => u.StripeCustomerId).SingleAsync());
            Assert.Equal(500, await db.CreditLedger.Where(g => g.UserId == userId).SumAsync(g => g.Balance));
            var failure = await db.SyncFailures.AsNoTracking().SingleAsync(f => f.Id == userId);
            Assert.Equal("stripe", failure.Provider);
            Assert.StartsWith("Stripe customer creation failed", failure.LastError);
        }
        finally
        {
            Stripe.FailCustomerCreation = false;
        }

        await using var check = server.NewDbContext();
        await PaymentFixture.EventuallyAsync(async () => await check.Users.AnyAsync(u => u.Id == userId && u.StripeCustomerId != null), "the retried customer");
        await PaymentFixture.EventuallyAsync(async () => !await check.SyncFailures.AnyAsync(f => f.Id == userId), "the sync_failure row to clear");
        var customerId = await check.Users.Where(u => u.Id == userId).Select(u => u.StripeCustomerId).SingleAsync();
        Assert.Equal(userId, (string)Stripe.Customers[customerId!]["metadata"]!["user_id"]!);
    }

    [Fact]
    public async Task Creating_an_organization_creates_its_Stripe_customer()
    {
        var owner = await server.CreateUserAsync();
        using var client = server.ClientFor(owner);
        var created = await client.PostAsJsonAsync("/api/orgs", new { name = $"Acme {Guid.NewGuid():N}"[..20] });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var org = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var customerId = (string?)org["stripe_customer_id"];
        Assert.NotNull(customerId);
        var customer = Stripe.Customers[customerId];
        Assert.Equal(((string)org["id"]!, "organization"), ((string)customer["metadata"]!["organization_id"]!, (string)customer["metadata"]!["type"]!));
        await using var db = server.NewDbContext();
        Assert.Equal(customerId, await db.Orgs.Where(o => o.Id == (string)org["id"]!).Select(o => o.StripeCustomerId).SingleAsync());
    }
}
