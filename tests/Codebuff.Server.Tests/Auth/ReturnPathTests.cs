using Codebuff.Server.Auth;

namespace Codebuff.Server.Tests.Auth;

/// <summary>
/// One rule for every return address (<see cref="ReturnPaths"/>). The attack: a control character hides a second
/// slash from a check on the raw text; browsers drop tabs and line breaks from a Location, so
/// <c>/\t/evil.example</c> sends them to <c>//evil.example</c>.
/// </summary>
public sealed class ReturnPathTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    static readonly string[] Hostile =
    [
        "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", "/\u007f/evil.example", "/\\evil.example",
        "/\t\\evil.example", "//evil.example", "https://evil.example/", "javascript:alert(1)", "evil.example", "", " /x",
    ];

    [Fact]
    public void Only_a_path_on_this_site_comes_back()
    {
        Assert.All(Hostile, url => Assert.Equal("/", ReturnPaths.Safe(url)));
        Assert.Equal("/", ReturnPaths.Safe(null));
        Assert.Equal("/", ReturnPaths.Safe("/\u0000/evil.example"));
        foreach (var kept in new[] { "/", "/profile?tab=api-keys", "/onboard?auth_code=a.b.c", "/login?next=%2F%2Fevil.example", "/orgs/a%09b" })
            Assert.Equal(kept, ReturnPaths.Safe(kept));
    }

    /// <summary>The raw Location header (HttpClient's parsed one would drop what a browser drops).</summary>
    static string Location(HttpResponseMessage response) => Assert.Single(response.Headers.GetValues("Location"));

    [Fact]
    public async Task Sign_out_sends_hostile_callbacks_home()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        foreach (var callback in Hostile)
        {
            var response = await client.PostAsync("/api/auth/signout?callbackUrl=" + Uri.EscapeDataString(callback), null);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.True(Location(response) == "/", $"{JsonSerializer.Serialize(callback)} → {JsonSerializer.Serialize(Location(response))}");
        }
        var kept = await client.PostAsync("/api/auth/signout?callbackUrl=" + Uri.EscapeDataString("/login?next=%2Fprofile"), null);
        Assert.Equal("/login?next=%2Fprofile", Location(kept));
    }

    [Fact]
    public async Task The_GitHub_callback_sends_a_hostile_return_path_home()
    {
        server.GitHub.NextUser = new FakeGitHub.GitHubIdentity(Random.Shared.NextInt64(1_000_000_000, 9_000_000_000), "t", null, $"t{Guid.NewGuid():N}@example.com");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = server.BaseAddress };
        var start = await client.GetAsync("/api/auth/signin/github?callbackUrl=" + Uri.EscapeDataString("/\t/evil.example"));
        var authorize = await client.GetAsync(start.Headers.Location);
        var callback = await client.GetAsync(authorize.Headers.Location);
        Assert.Equal((HttpStatusCode.Redirect, "/"), (callback.StatusCode, Location(callback)));
    }

    [Fact]
    public async Task Continue_as_links_home_for_a_hostile_next()
    {
        using var client = Web.PageForms.Client(server.BaseAddress, webSession: await server.WebSessionTokenAsync(await server.CreateUserAsync()));
        var page = await client.GetStringAsync("/login?next=" + Uri.EscapeDataString("/\t/evil.example"));
        Assert.Contains("""id="continue" href="/">""", page);
        var signUp = await server.Client.GetStringAsync("/login?next=" + Uri.EscapeDataString("/\n/evil.example"));
        Assert.Contains("""href="/signup" id="signup-link">""", signUp);
    }
}
