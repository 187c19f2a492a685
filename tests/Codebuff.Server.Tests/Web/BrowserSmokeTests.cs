using Codebuff.Server.Tests.Infrastructure;

namespace Codebuff.Server.Tests.Web;

public sealed class BrowserSmokeTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Chromium_reaches_the_server_over_loopback()
    {
        await using var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var response = await page.GotoAsync(new Uri(server.BaseAddress, "/api/healthz").ToString());
        Assert.Equal(200, response!.Status);
        Assert.Contains("\"status\":\"ok\"", await page.ContentAsync());
    }
}
