namespace Codebuff.Server.Tests.ScaleOut;

/// <summary>
/// The load balancer of these tests: every request (and every redirect hop) addressed to one of the instances, or to
/// the configured AppUrl, goes to the next instance in turn. It follows redirects itself so each hop is balanced too;
/// <see cref="Served"/> records which instance answered each request.
/// </summary>
public sealed class RoundRobinProxy(IReadOnlyList<Uri> instances, System.Net.CookieContainer? cookies = null)
    : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new() })
{
    int _next;
    public List<int> Served { get; } = [];

    public HttpClient Client() => new(this) { BaseAddress = instances[0] };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        for (var hop = 0; ; hop++)
        {
            if (IsBalanced(request.RequestUri!))
            {
                var i = Interlocked.Increment(ref _next) % instances.Count;
                lock (Served) Served.Add(i);
                request.RequestUri = new Uri(instances[i], request.RequestUri!.PathAndQuery);
            }
            var response = await base.SendAsync(request, ct);
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is null || hop == 10) return response;
            request = new HttpRequestMessage(HttpMethod.Get, new Uri(request.RequestUri!, response.Headers.Location));
            response.Dispose();
        }
    }

    bool IsBalanced(Uri uri) =>
        (uri.Host == "localhost" && uri.Port == 5000) || instances.Any(i => i.Host == uri.Host && i.Port == uri.Port);
}
