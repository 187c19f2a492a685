using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Auth;

/// <summary>Malformed and mistyped bodies on the account routes: the spec's 400 body, and nothing written.</summary>
public sealed class BadInputTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    [Theory]
    [InlineData("PATCH", "/api/user/profile", "not json", """{"error":"Invalid request body","details":"handle must be a string"}""")]
    [InlineData("PATCH", "/api/user/profile", """{"handle":7}""", """{"error":"Invalid request body","details":"handle must be a string"}""")]
    [InlineData("PATCH", "/api/user/profile", """["handle"]""", """{"error":"Invalid request body","details":"handle must be a string"}""")]
    [InlineData("DELETE", "/api/sessions", "{", """{"error":"Invalid request body","details":"sessionIds and tokenIds must be arrays of strings"}""")]
    [InlineData("DELETE", "/api/sessions", """{"tokenIds":"abc"}""", """{"error":"Invalid request body","details":"sessionIds and tokenIds must be arrays of strings"}""")]
    [InlineData("DELETE", "/api/sessions", """{"sessionIds":[1]}""", """{"error":"Invalid request body","details":"sessionIds and tokenIds must be arrays of strings"}""")]
    [InlineData("POST", "/api/auth/cli/logout", "not json", """{"error":"Invalid request body"}""")]
    [InlineData("POST", "/api/auth/cli/logout", """{"userId":"u","fingerprintId":"f"}""", """{"error":"Invalid request body"}""")]
    [InlineData("POST", "/api/auth/cli/logout", """{"userId":"u","fingerprintId":"f","fingerprintHash":1}""", """{"error":"Invalid request body"}""")]
    public async Task Bad_bodies_get_400_and_change_nothing(string method, string path, string body, string expected)
    {
        var user = await server.CreateUserAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.ApiKey);
        var response = await server.Client.SendAsync(request);
        Assert.Equal((HttpStatusCode.BadRequest, expected), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString());

        await using var db = server.NewDbContext();
        Assert.Null((await db.Users.SingleAsync(u => u.Id == user.Id)).Handle);
        Assert.Equal(1, await db.Sessions.CountAsync(s => s.UserId == user.Id));
    }
}
