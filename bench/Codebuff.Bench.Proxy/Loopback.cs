using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

/// <summary>What the proxy bench's runs share: ports, addresses and the plain pass-through gateway.</summary>
static class Loopback
{
    public static string Address(WebApplication app) => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>The plainest gateway: forwards the body to the provider, streams the answer back, nothing else.</summary>
    public static void MapPassThrough(WebApplication app, HttpClient client, string providerUrl) =>
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var content = new StreamContent(context.Request.Body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, providerUrl + "/v1/chat/completions") { Content = content };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            context.Features.Get<IHttpResponseBodyFeature>()!.DisableBuffering();
            await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            await stream.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
}
