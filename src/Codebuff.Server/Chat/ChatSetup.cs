using Codebuff.Server.Tools;

namespace Codebuff.Server.Chat;

public static class ChatSetup
{
    /// <summary>The LLM proxy, BYOK key store and the SDK's tool routes (token count, web and docs search).</summary>
    public static void AddChat(this IServiceCollection services, IConfiguration config, string byokKey)
    {
        // Its Kind is checked with the providers list it stands for (ProviderRoutes, below).
        services.Configure<UpstreamOptions>(config.GetSection("Codebuff:Upstream"));
        services.Configure<ChatOptions>(config.GetSection("Codebuff:Chat"));
        services.AddOptions<SearchOptions>().Bind(config.GetSection("Codebuff:Search"))
            .Validate(o => o.KnownKinds, "Codebuff:Search:WebKind must be linkup or json, Codebuff:Search:DocsKind context7 or json.").ValidateOnStart();
        // Streams have no overall deadline (api.md §2.5.4); ProviderClient and SseRelay apply the header and idle timeouts themselves.
        services.AddHttpClient(ProviderClient.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = int.MaxValue });
        services.AddHttpClient(SearchEndpoints.HttpClientName, c => c.Timeout = SearchEndpoints.Timeout);
        services.AddSingleton<ChatRateLimiter>();
        services.AddSingleton<ChatBilling>();
        services.AddSingleton(new ProviderRoutes(config));
        services.AddSingleton<ProviderClient>();
        services.AddSingleton<ChatProxy>();
        services.AddSingleton<SseRelay>();
        services.AddScoped<ChatScope>();
        services.AddSingleton<TokenCounter>();
        services.AddSingleton(new ByokCipher(byokKey));
    }

    public static void MapChat(this IEndpointRouteBuilder app)
    {
        app.MapChatCompletions();
        app.MapModels();
        app.MapByokKeys();
    }
}
