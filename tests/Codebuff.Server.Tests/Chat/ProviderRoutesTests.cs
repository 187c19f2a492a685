using Codebuff.Server.Chat;

namespace Codebuff.Server.Tests.Chat;

public sealed class ProviderRoutesTests
{
    static ProviderRoutes Routes(Dictionary<string, string?> settings) => new(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

    static readonly Dictionary<string, string?> TwoProviders = new()
    {
        ["Codebuff:Providers:0:Name"] = "late", ["Codebuff:Providers:0:BaseUrl"] = "http://late.test/v1", ["Codebuff:Providers:0:Priority"] = "5",
        ["Codebuff:Providers:0:Models:0"] = "openai/*", ["Codebuff:Providers:0:ApiKey"] = "late-key",
        ["Codebuff:Providers:1:Name"] = "early", ["Codebuff:Providers:1:Kind"] = "openrouter", ["Codebuff:Providers:1:BaseUrl"] = "http://early.test/v1",
        ["Codebuff:Providers:1:Models:0"] = "openai/gpt-4o", ["Codebuff:Providers:1:KeyType"] = "openai", ["Codebuff:Providers:1:ApiKey"] = "early-key",
    };

    [Fact]
    public void Providers_are_tried_by_priority_and_prefix_entries_match_only_their_prefix()
    {
        var routes = Routes(TwoProviders);
        Assert.Equal(["early", "late"], routes.Serving("openai/gpt-4o").Select(p => p.Name));
        Assert.Equal(["late"], routes.Serving("openai/gpt-4o-mini").Select(p => p.Name));
        Assert.Empty(routes.Serving("anthropic/claude-sonnet-4.5"));
        Assert.Empty(routes.Serving("xopenai/gpt-4o"));
    }

    [Fact]
    public void A_stored_key_keeps_the_call_on_its_key_types_providers_and_a_header_key_on_the_first()
    {
        var serving = Routes(TwoProviders).Serving("openai/gpt-4o");
        var server = ProviderRoutes.Plan(serving, null, new Dictionary<string, string>());
        Assert.Equal([("early", "early-key", false), ("late", "late-key", false)], server.Select(r => (r.Provider.Name, r.Key, r.Byok)));
        var own = Assert.Single(ProviderRoutes.Plan(serving, null, new Dictionary<string, string> { ["openai"] = "sk-user" }));
        Assert.Equal(("early", "sk-user", true, "openai"), (own.Provider.Name, own.Key, own.Byok, own.StoredKeyType));
        var header = Assert.Single(ProviderRoutes.Plan(serving, "sk-or-header", new Dictionary<string, string> { ["openai"] = "sk-user" }));
        Assert.Equal(("early", "sk-or-header", true, null), (header.Provider.Name, header.Key, header.Byok, header.StoredKeyType));
    }

    [Fact]
    public void Without_a_list_the_upstream_setting_is_one_provider_serving_every_model()
    {
        var only = Assert.Single(Routes(new() { ["Codebuff:Upstream:BaseUrl"] = "https://openrouter.ai/api/v1", ["Codebuff:Upstream:ApiKey"] = "k" }).Providers);
        Assert.Equal(("upstream", "openrouter", "https://openrouter.ai/api/v1", "k"), (only.Name, only.Kind, only.BaseUrl, only.ApiKey));
        Assert.True(only.Serves("any/model"));
        Assert.Equal("openai", Assert.Single(Routes(new() { ["Codebuff:Upstream:BaseUrl"] = "http://127.0.0.1:9/v1" }).Providers).Kind);
    }

    [Fact]
    public void An_anthropic_upstream_is_one_provider_of_kind_anthropic_on_anthropics_api_using_stored_anthropic_keys()
    {
        var only = Assert.Single(Routes(new() { ["Codebuff:Upstream:Kind"] = "Anthropic", ["Codebuff:Upstream:ApiKey"] = "sk-ant" }).Providers);
        Assert.Equal(("upstream", "anthropic", "https://api.anthropic.com/v1", "sk-ant", "anthropic"), (only.Name, only.Kind, only.BaseUrl, only.ApiKey, only.KeyType));
        Assert.Equal("Codebuff:Upstream:Kind 'bedrock' is not one of: openai, openrouter, anthropic.",
            Assert.Throws<InvalidOperationException>(() => Routes(new() { ["Codebuff:Upstream:Kind"] = "bedrock" })).Message);
    }

    [Theory]
    [InlineData("Kind", "anthropic-v0", "Codebuff:Providers:0:Kind 'anthropic-v0' is not one of: openai, openrouter, anthropic.")]
    [InlineData("KeyType", "openrouter", "Codebuff:Providers:0:KeyType 'openrouter' is not one of: anthropic, gemini, openai.")]
    [InlineData("KeyType", "anthropic", "Codebuff:Providers:0:KeyType 'anthropic' does not fit Kind 'openai': anthropic keys go only to Kind anthropic, which takes no other key type.")]
    [InlineData("BaseUrl", "not a url", "Codebuff:Providers:0:BaseUrl must be an absolute http(s) URL.")]
    [InlineData("Name", "", "Codebuff:Providers:0:Name is required.")]
    public void A_bad_entry_stops_the_server_naming_the_setting(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?>(TwoProviders) { [$"Codebuff:Providers:0:{key}"] = value };
        Assert.Equal(message, Assert.Throws<InvalidOperationException>(() => Routes(settings)).Message);
    }
}
