using System.Text.Json.Nodes;

namespace Codebuff.Contracts;

/// <summary>GET /api/v1/agents/{publisher}/{id}/{version|latest} (api.md §2.9): a published definition.</summary>
public sealed record PublishedAgentVersion(string Id, string Version, string PublisherId, JsonObject Data);

/// <summary>POST /api/agents/publish (api.md §4.6).</summary>
public sealed record PublishRequest(IReadOnlyList<JsonObject> Data, IReadOnlyList<string> AllLocalAgentIds);

/// <summary>The publish answer: on success the publisher and each agent's chosen version; on failure the reasons.</summary>
public sealed record PublishResponse(
    bool Success, string? PublisherId, IReadOnlyList<PublishedAgent>? Agents,
    string? Error, string? Details, string? Hint, IReadOnlyList<string>? AvailablePublishers, IReadOnlyList<AgentValidationError>? ValidationErrors);

public sealed record PublishedAgent(string Id, string Version, string DisplayName);

public sealed record AgentValidationError(string? FilePath, string? Message);

/// <summary>POST /api/agents/validate (api.md §2.10).</summary>
public sealed record ValidateAgentsRequest(IReadOnlyList<JsonObject> AgentDefinitions, IReadOnlyList<string> AllLocalAgentIds);

public sealed record ValidateAgentsResponse(bool Success, IReadOnlyList<string> Configs, IReadOnlyList<AgentValidationError> ValidationErrors, int ErrorCount);
