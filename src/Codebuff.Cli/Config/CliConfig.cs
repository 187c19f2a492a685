namespace Codebuff.Cli.Config;

/// <summary>Where the CLI talks to and keeps its files (clients.md §2.2, §2.3).</summary>
public sealed class CliConfig(CliHost host)
{
    public const string DefaultAppUrl = "http://localhost:5000";

    public string AppUrl => (host.Env("CODEBUFF_APP_URL") ?? DefaultAppUrl).TrimEnd('/');

    /// <summary><c>~/.config/manicode</c>, or <c>manicode-dev</c>/<c>manicode-test</c> for those environments.</summary>
    public string ConfigDir => Path.Combine(host.Home, ".config", host.Env("NEXT_PUBLIC_CB_ENVIRONMENT") switch
    {
        "dev" => "manicode-dev",
        "test" => "manicode-test",
        _ => "manicode",
    });

    public CredentialsFile Credentials => new(Path.Combine(ConfigDir, "credentials.json"));

    /// <summary>The token to send: the credentials file wins over CODEBUFF_API_KEY.</summary>
    public string? Token => Credentials.Load()?.AuthToken ?? host.Env("CODEBUFF_API_KEY");

    public string RequireToken() => Token ?? throw CliException.NotLoggedIn();

    /// <summary>A rejected login (401, exit code 3) also names the credential that was sent: the saved file or the variable.</summary>
    public CliException NameRejectedCredential(CliException e)
    {
        const string said = " The credential sent was ";
        if (e.ExitCode != 3 || e.Message.Contains(said, StringComparison.Ordinal)) return e;
        var source = Credentials.Load() is not null ? $"the login saved in {Credentials.Path}"
            : host.Env("CODEBUFF_API_KEY") is not null ? "the CODEBUFF_API_KEY environment variable; set it to a valid API key or unset it" : null;
        return source is null ? e : new CliException($"{e.Message}{said}{source}.", e.ExitCode);
    }

    /// <summary>The edit journals of one project, keyed by its full path (two projects with the same folder name must
    /// never share them): <c>projects/&lt;basename(root)&gt;/edits/&lt;sha256(root)[..16]&gt;</c>.</summary>
    public string EditsDir(string projectRoot)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(projectRoot));
        var key = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(root)))[..16];
        return Path.Combine(ConfigDir, "projects", Path.GetFileName(root), "edits", key);
    }

    /// <summary>Saved chats of one project: <c>projects/&lt;basename(root)&gt;/chats</c>.</summary>
    public string ChatsDir(string projectRoot) =>
        Path.Combine(ConfigDir, "projects", Path.GetFileName(Path.TrimEndingDirectorySeparator(projectRoot)), "chats");
}
