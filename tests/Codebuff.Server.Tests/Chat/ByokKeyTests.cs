using Codebuff.Server.Chat;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Chat;

public sealed class ByokKeyTests(ChatFixture server) : IClassFixture<ChatFixture>
{
    const string OpenAiKey = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

    [Fact]
    public async Task A_saved_key_is_stored_as_aes_gcm_hex_triplet_and_only_ever_shown_masked()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var put = await client.PutAsync("/api/user/api-keys/openai", new StringContent($$"""{"apiKey":"{{OpenAiKey}}"}"""));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("""{"type":"openai","maskedKey":"sk-p…6789"}""", await put.Content.ReadAsStringAsync());

        await using var db = server.NewDbContext();
        var row = await db.EncryptedApiKeys.AsNoTracking().SingleAsync(k => k.UserId == user.Id);
        Assert.Equal(ApiKeyType.Openai, row.Type);
        Assert.Matches("^[0-9a-f]{24}:[0-9a-f]+:[0-9a-f]{32}$", row.ApiKey);
        Assert.DoesNotContain("abcdefghijklmnop", row.ApiKey);
        // The configured master key is 32 characters, so it is used as is, as upstream does: rows stay portable.
        Assert.Equal(OpenAiKey, new ByokCipher("0123456789abcdef0123456789abcdef").Decrypt(row.ApiKey));
        Assert.Null(new ByokCipher("another-master-key-of-32-chars!!").Decrypt(row.ApiKey));

        var list = await client.GetStringAsync("/api/user/api-keys");
        Assert.Equal("""{"keys":[{"type":"openai","maskedKey":"sk-p…6789"}]}""", list);
        Assert.DoesNotContain(OpenAiKey, list);
        Assert.Equal("""{"type":"openai","maskedKey":"sk-p…6789"}""", await client.GetStringAsync("/api/user/api-keys/openai"));
    }

    [Fact]
    public async Task Put_replaces_delete_removes_and_other_users_see_nothing()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        await client.PutAsync("/api/user/api-keys/anthropic", new StringContent("""{"apiKey":"sk-ant-api03-first-key-000"}"""));
        await client.PutAsync("/api/user/api-keys/anthropic", new StringContent("""{"apiKey":"sk-ant-api03-second-key-111"}"""));
        Assert.Equal("""{"type":"anthropic","maskedKey":"sk-a…-111"}""", await client.GetStringAsync("/api/user/api-keys/anthropic"));
        Assert.Equal(HttpStatusCode.NotFound, (await server.ClientFor(await server.CreateUserAsync()).GetAsync("/api/user/api-keys/anthropic")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/api/user/api-keys/anthropic")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/api/user/api-keys/anthropic")).StatusCode);
        await using var db = server.NewDbContext();
        Assert.False(await db.EncryptedApiKeys.AnyAsync(k => k.UserId == user.Id));
    }

    [Fact]
    public async Task Bad_input_is_refused_and_nothing_is_stored()
    {
        var user = await server.CreateUserAsync();
        var client = server.ClientFor(user);
        var unknownType = await client.PutAsync("/api/user/api-keys/openrouter", new StringContent("""{"apiKey":"sk-or-12345678"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, unknownType.StatusCode);
        Assert.Equal("Unknown key type 'openrouter'. Valid types are: anthropic, gemini, openai", (string?)(await unknownType.Content.ReadFromJsonAsync<JsonObject>())!["error"]);
        var notJson = await client.PutAsync("/api/user/api-keys/gemini", new StringContent("{"));
        Assert.Equal("""{"error":"Invalid JSON in request body"}""", await notJson.Content.ReadAsStringAsync());
        var missing = await client.PutAsync("/api/user/api-keys/gemini", new StringContent("""{"key":"x"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("""{"_errors":[],"apiKey":{"_errors":["Required"]}}""", (await missing.Content.ReadFromJsonAsync<JsonObject>())!["details"]!.ToJsonString());
        var spaces = await client.PutAsync("/api/user/api-keys/gemini", new StringContent("""{"apiKey":"has spaces in it"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, spaces.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/api/user/api-keys")).StatusCode);
        await using var db = server.NewDbContext();
        Assert.False(await db.EncryptedApiKeys.AnyAsync(k => k.UserId == user.Id));
    }
}
