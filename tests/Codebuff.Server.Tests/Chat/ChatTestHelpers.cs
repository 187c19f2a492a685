using Codebuff.Server.Data;
using Codebuff.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Server.Tests.Chat;

static class ChatTestHelpers
{
    public static Task<HttpResponseMessage> PostChatAsync(this HttpClient client, JsonObject body, HttpCompletionOption option = HttpCompletionOption.ResponseContentRead) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        }, option);

    /// <summary>The JSON payloads of the stream's data lines ([DONE] excluded).</summary>
    public static List<JsonObject> DataChunks(string sse) =>
        sse.Split('\n').Where(l => l.StartsWith("data: ") && l != "data: [DONE]").Select(l => JsonNode.Parse(l[6..])!.AsObject()).ToList();

    public static async Task<int> BalanceAsync(this ServerFixture server, string userId)
    {
        await using var db = server.NewDbContext();
        return await db.CreditLedger.Where(g => g.UserId == userId).SumAsync(g => g.Balance);
    }

    public static async Task<List<Message>> MessagesAsync(this ServerFixture server, string userId)
    {
        await using var db = server.NewDbContext();
        return await db.Messages.AsNoTracking().Where(m => m.UserId == userId).ToListAsync();
    }

    /// <summary>The provider recorded for a message (service.message_provider), or null.</summary>
    public static async Task<string?> ProviderOfAsync(this ServerFixture server, string messageId)
    {
        await using var db = server.NewDbContext();
        return (await db.Database.SqlQuery<string>($"SELECT provider AS \"Value\" FROM service.message_provider WHERE message_id = {messageId}").ToListAsync()).SingleOrDefault();
    }

    /// <summary>Waits for billing that finishes after the response (e.g. once a disconnected client's stream has been drained).</summary>
    public static async Task<List<Message>> WaitForMessagesAsync(this ServerFixture server, string userId, int count)
    {
        for (var i = 0; i < 100; i++)
        {
            var rows = await server.MessagesAsync(userId);
            if (rows.Count >= count) return rows;
            await Task.Delay(100);
        }
        return await server.MessagesAsync(userId);
    }
}
