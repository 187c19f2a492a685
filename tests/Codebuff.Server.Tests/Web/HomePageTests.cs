using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Web;

/// <summary>The dashboard frame: the home page, its navbar and its assets, signed out and signed in.</summary>
public sealed class HomePageTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Signed_out_home_offers_sign_in_and_loads_its_assets()
    {
        await using var tab = await DashboardTab.OpenAsync(server);
        var response = await tab.GotoAsync("/");

        Assert.Equal(200, response!.Status);
        Assert.Equal("Codebuff", await tab.HeadingAsync());
        Assert.Equal("Codebuff", await tab.Page.TitleAsync());
        Assert.Equal("Log in", (await tab.Page.InnerTextAsync("header a[href='/login']")).Trim());
        // The stylesheet applied: the navbar is the panel colour, not the browser default.
        Assert.Equal("rgb(21, 25, 34)", await tab.Page.EvalOnSelectorAsync<string>("header.navbar", "e => getComputedStyle(e).backgroundColor"));
        // Blazor's script loaded and took over navigation (enhanced navigation).
        Assert.True(await tab.Page.EvaluateAsync<bool>("() => typeof window.Blazor === 'object'"));
    }

    [Fact]
    public async Task Signed_in_home_shows_the_user_and_their_credits()
    {
        var user = await server.CreateUserAsync(credits: 1234);
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/");

        // A brand-new account is welcomed, not welcomed back; a day later it is.
        Assert.Equal("Welcome to Codebuff", await tab.HeadingAsync());
        Assert.Equal(user.Email, await tab.Page.InnerTextAsync("#email"));
        Assert.Equal("1,234", await tab.Page.InnerTextAsync("#credits"));
        Assert.Equal(user.Email, (await tab.Page.InnerTextAsync("header .who")).Trim());
        Assert.Equal(0, await tab.Page.Locator("header a[href='/login']").CountAsync());
    }

    [Fact]
    public async Task An_account_older_than_a_day_is_welcomed_back()
    {
        var user = await server.CreateUserAsync();
        await using (var db = server.NewDbContext())
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.CreatedAt, DateTime.UtcNow.AddDays(-2)));
        await using var tab = await DashboardTab.OpenAsync(server, user);
        await tab.GotoAsync("/");
        Assert.Equal("Welcome back", await tab.HeadingAsync());
    }
}
