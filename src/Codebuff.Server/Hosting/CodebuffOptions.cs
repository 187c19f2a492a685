namespace Codebuff.Server.Hosting;

/// <summary>The "Codebuff" configuration section (environment variables: Codebuff__Name, Codebuff__Upstream__BaseUrl, ...).</summary>
public sealed class CodebuffOptions
{
    /// <summary>Where the embedded PostgreSQL cluster and generated secrets live when no connection string is set.</summary>
    public string DataDir { get; set; } = ".data";

    /// <summary>Folder holding initdb and pg_ctl for the embedded cluster; found via pg_config, PATH or /usr/lib/postgresql when unset.</summary>
    public string? PostgresBinDir { get; set; }

    /// <summary>Public origin of this server, used in login links and referral links.</summary>
    public string AppUrl { get; set; } = "http://localhost:5000";

    /// <summary>Secret that signs CLI login hashes and keys the token hashes. Generated into DataDir when unset.</summary>
    public string? AuthSecret { get; set; }

    /// <summary>Largest request body accepted, in bytes; a larger one answers 413. Chat bodies carry whole conversations.</summary>
    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Largest request body read from a caller without a credential header (see Hosting/RequestBodyGuard.cs).</summary>
    public long MaxAnonymousBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Site administrators' e-mail addresses (api.md §1.5): they may read and set organization features,
    /// search any run's trace and open the dashboard's admin pages.</summary>
    public List<string> Admins { get; set; } = [];

    public bool IsSiteAdmin(string email) => Admins.Any(a => string.Equals(a.Trim(), email, StringComparison.OrdinalIgnoreCase));
}
