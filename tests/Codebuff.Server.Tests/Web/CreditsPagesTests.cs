using Codebuff.Server.Tests.Infrastructure;
using Codebuff.Server.Tests.Payments;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Codebuff.Server.Tests.Web;

/// <summary>Buying credits and auto top-up on the profile's usage tab, and /payment-success, against the fake Stripe.</summary>
public sealed class CreditsPagesTests(PaymentFixture server) : IClassFixture<PaymentFixture>
{
    async Task<string?> CustomerOfAsync(TestUser user)
    {
        await using var db = server.NewDbContext();
        return await db.Users.Where(u => u.Id == user.Id).Select(u => u.StripeCustomerId).SingleAsync();
    }

    [Fact]
    public async Task Buying_credits_without_a_saved_card_goes_to_stripe_checkout()
    {
        var user = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, user);
        // Stripe's hosted page is not reachable from here (and a browser's route does not see a redirect's target), so
        // the form's answer is taken as it is, its redirect recorded, and a stand-in page shown instead.
        (int Status, string? Location)? answer = null;
        await tab.Page.RouteAsync("**/profile?tab=usage", async route =>
        {
            if (route.Request.Method != "POST")
            {
                await route.ContinueAsync();
                return;
            }
            var response = await route.FetchAsync(new RouteFetchOptions { MaxRedirects = 0 });
            answer = (response.Status, response.Headers.GetValueOrDefault("location"));
            await route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = "text/html", Body = "<!doctype html><title>Stripe</title><h1>Stripe Checkout</h1>" });
        });
        await tab.GotoAsync("/profile?tab=usage");
        Assert.Equal(4, await tab.Page.Locator("#buy-form input[type=radio]").CountAsync());
        await tab.Page.CheckAsync("#buy-form input[value='2500']");
        await tab.Page.ClickAsync("#buy-form button[type=submit]");
        await tab.Page.Locator("h1", new() { HasTextString = "Stripe Checkout" }).WaitForAsync();
        await tab.ScreenshotAsync();

        var customer = await CustomerOfAsync(user);
        Assert.NotNull(customer);
        var session = Assert.Single(server.Stripe.CheckoutSessions.Values, s => (string?)s["customer"] == customer);
        Assert.Equal((302, $"https://checkout.stripe.test/c/pay/{(string)session["id"]!}"), answer);
        Assert.Equal(2500, (long)session["amount_total"]!);
        Assert.Equal("http://localhost:5000/payment-success?session_id={CHECKOUT_SESSION_ID}&purchase=credits&amt=2500", (string?)session["success_url"]);
        Assert.Equal("http://localhost:5000/usage?purchase_canceled=true", (string?)session["cancel_url"]);
        Assert.Equal("2500", (string?)session["metadata"]!["credits"]);
        Assert.Equal(user.Id, (string?)session["metadata"]!["userId"]);
    }

    [Fact]
    public async Task Buying_credits_with_a_saved_card_charges_it_and_shows_the_new_balance()
    {
        var user = await server.CreateUserAsync();
        await server.CheckoutAsync(user, 500); // makes the Stripe customer
        server.Stripe.AddCard((await CustomerOfAsync(user))!);

        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile?tab=usage");
        await tab.Page.ClickAsync("#buy-form button[type=submit]"); // $10 is the default choice
        // Waits for the redirect's URL, not its load event: once, under a loaded CI machine, the URL matched and the
        // load event was never reported; the notice below is what the user sees anyway, and the locator waits for it.
        await tab.Page.WaitForURLAsync("**/profile?tab=usage&purchased=1000", new() { WaitUntil = WaitUntilState.Commit });
        Assert.Contains("1,000 credits added", await tab.Page.Locator(".notice.ok").InnerTextAsync());
        await tab.ScreenshotAsync();
        Assert.Contains("1,000 left", await tab.Page.InnerTextAsync("#branch-non-renewable [data-grant=purchase]"));
        await using var db = server.NewDbContext();
        var grant = await db.CreditLedger.SingleAsync(g => g.UserId == user.Id && g.Type == Codebuff.Server.Data.GrantType.Purchase);
        Assert.Equal(1000, grant.Principal);
    }

    [Fact]
    public async Task Auto_top_up_is_saved_and_switched_off_from_the_form()
    {
        var user = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/profile?tab=usage");
        Assert.False(await tab.Page.IsCheckedAsync("#topup-enabled"));
        Assert.Equal("500", await tab.Page.InputValueAsync("#topup-threshold"));
        Assert.Equal("20", await tab.Page.InputValueAsync("#topup-amount"));

        await tab.Page.CheckAsync("#topup-enabled");
        await tab.Page.FillAsync("#topup-threshold", "800");
        await tab.Page.FillAsync("#topup-amount", "30");
        await tab.Page.ClickAsync("#topup-form button[type=submit]");
        await tab.Page.Locator("#topup-saved").WaitForAsync();
        await tab.ScreenshotAsync();
        Assert.Equal("Auto top-up enabled.", (await tab.Page.InnerTextAsync("#topup-saved")).Trim());
        var settings = (await server.ClientFor(user).GetFromJsonAsync<JsonObject>("/api/user/auto-topup"))!;
        Assert.Equal((true, 800, 3000), ((bool)settings["auto_topup_enabled"]!, (int)settings["auto_topup_threshold"]!, (int)settings["auto_topup_amount"]!));
        Assert.True(await tab.Page.IsCheckedAsync("#topup-enabled"));
        Assert.Equal("30", await tab.Page.InputValueAsync("#topup-amount"));

        await tab.Page.UncheckAsync("#topup-enabled");
        await tab.Page.ClickAsync("#topup-form button[type=submit]");
        await tab.Page.Locator("#topup-saved", new() { HasTextString = "disabled" }).WaitForAsync();
        await using var db = server.NewDbContext();
        var row = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.Equal((false, (int?)null, (int?)null), (row.AutoTopupEnabled, row.AutoTopupThreshold, row.AutoTopupAmount));
    }

    [Theory]
    [InlineData("200", "Top-up amount must be between 500 and 10000 credits")]
    [InlineData("4", "Top-up amount must be between 500 and 10000 credits")]
    [InlineData("ten", "Enter the threshold in whole credits and the amount in whole dollars.")]
    public async Task A_bad_auto_top_up_amount_is_refused_and_nothing_is_saved(string dollars, string message)
    {
        var user = await server.CreateUserAsync();
        using var client = PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(user));
        var (status, page) = await PageForms.PostAsync(client, "/profile?tab=usage", "auto-topup",
            new Dictionary<string, string> { ["TopUp.Enabled"] = "true", ["TopUp.Threshold"] = "600", ["TopUp.Dollars"] = dollars });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"""<p class="notice error" role="alert" id="topup-error">{message}</p>""", page);
        await using var db = server.NewDbContext();
        var row = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id);
        Assert.Equal((false, (int?)null), (row.AutoTopupEnabled, row.AutoTopupThreshold));
    }

    [Fact]
    public async Task Payment_success_thanks_the_buyer_and_offers_auto_top_up()
    {
        var user = await server.CreateUserAsync();
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/payment-success?session_id=cs_test_x&purchase=credits&amt=2500");
        Assert.Equal("Thank you for your purchase", await tab.HeadingAsync());
        Assert.Contains("2,500 credits are being added", await tab.Page.InnerTextAsync("#purchase-summary"));
        Assert.Equal(1, await tab.Page.Locator("#topup-form").CountAsync());
        Assert.Equal("/profile?tab=usage", await tab.Page.GetAttributeAsync("main a.button", "href"));
    }
}
