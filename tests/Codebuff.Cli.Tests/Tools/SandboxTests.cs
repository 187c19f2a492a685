using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Codebuff.Cli.Tests.Infrastructure;

namespace Codebuff.Cli.Tests.Tools;

/// <summary>
/// Commands the model asks for (run_terminal_command through the fake LLM's scripted tool calls) run in the sandbox:
/// nothing outside the project is written, read or contacted, the repository's configuration stays as it was, and a
/// refusal names the switch that would allow it.
/// </summary>
public sealed class SandboxTests(CliFixture server) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task A_command_writes_in_the_project_only_and_a_refused_write_names_the_switch_that_allows_it()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        // Outside /tmp, which commands get a private copy of.
        var outside = Directory.CreateDirectory($"/var/tmp/cb-outside-{Guid.NewGuid():N}").FullName;
        try
        {
            var write = $"touch made-inside.txt && echo pwned > {outside}/written.txt";
            var (result, commands) = await RunCommandsAsync(cli, [], write);

            Assert.True(result.ExitCode == 0, result.Error);
            Assert.True(File.Exists(Path.Combine(cli.Project, "made-inside.txt")));
            Assert.False(File.Exists(Path.Combine(outside, "written.txt")));
            Assert.NotEqual(0, (int)commands[0]["exitCode"]!);
            var stderr = (string)commands[0]["stderr"]!;
            Assert.Contains("Read-only file system", stderr);
            Assert.EndsWith("[sandbox workspace-write] Commands write only in the project (not .git/config, .git/hooks, .git/info) and cannot read credential files; codebuff --sandbox off lifts the sandbox.", stderr);

            (result, commands) = await RunCommandsAsync(cli, ["--sandbox", "read-only"], "touch read-only.txt");
            Assert.False(File.Exists(Path.Combine(cli.Project, "read-only.txt")));
            Assert.Contains("[sandbox read-only] Commands cannot write files; codebuff --sandbox workspace-write lets them write in the project", (string)commands[0]["stderr"]!);

            // The same command with the sandbox off does write there: what the sandbox stopped was real.
            (result, commands) = await RunCommandsAsync(cli, ["--sandbox", "off", "--yes"], write);
            Assert.Equal(0, (int)commands[0]["exitCode"]!);
            Assert.Equal("pwned\n", File.ReadAllText(Path.Combine(outside, "written.txt")));
            Assert.Null(commands[0]["stderr"]);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_loopback_server_outside_the_sandbox_is_reached_only_with_network()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var body = $"outside-server-{Guid.NewGuid():N}";
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var connections = 0;
        var serving = Task.Run(async () =>
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref connections);
                var stream = client.GetStream();
                await stream.ReadAtLeastAsync(new byte[4096], 1, throwOnEndOfStream: false);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
            }
        });
        var curl = $"curl -sS --noproxy '*' --max-time 5 http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/";

        var (result, commands) = await RunCommandsAsync(cli, [], curl);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.NotEqual(0, (int)commands[0]["exitCode"]!);
        Assert.DoesNotContain(body, (string)commands[0]["stdout"]!);
        Assert.EndsWith("[sandbox workspace-write] Commands have no network here; codebuff --network allows it.", (string)commands[0]["stderr"]!);
        Assert.Equal(0, Volatile.Read(ref connections));

        (result, commands) = await RunCommandsAsync(cli, ["--network"], curl);
        Assert.Equal(0, (int)commands[0]["exitCode"]!);
        Assert.Equal(body, (string)commands[0]["stdout"]!);
        Assert.Equal(1, Volatile.Read(ref connections));

        cli.Env["CODEBUFF_NETWORK"] = "1"; // the setting, as --network
        (result, commands) = await RunCommandsAsync(cli, [], curl);
        Assert.Equal(body, (string)commands[0]["stdout"]!);
        Assert.Equal(2, Volatile.Read(ref connections));
        listener.Stop();
        await Assert.ThrowsAnyAsync<Exception>(() => serving);
    }

    /// <summary>A local socket (D-Bus, Docker, an SSH agent) would reach past the network namespace: /run is not there, even with --network.</summary>
    [Fact]
    public async Task A_unix_socket_under_run_is_out_of_reach_even_with_network()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var project = cli;
        var dir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Directory.Exists(runtime) ? runtime : "/run";
        var path = Path.Combine(dir, $"cb-sandbox-{Guid.NewGuid():N}.sock");
        var body = $"socket-server-{Guid.NewGuid():N}";
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var connections = 0;
        var serving = Task.Run(async () =>
        {
            while (true)
            {
                using var client = await listener.AcceptAsync();
                Interlocked.Increment(ref connections);
                await client.ReceiveAsync(new byte[4096]);
                await client.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
            }
        });
        try
        {
            var curl = $"curl -sS --max-time 5 --unix-socket {path} http://localhost/";
            var (result, commands) = await RunCommandsAsync(cli, ["--network"], curl);
            Assert.NotEqual(0, (int)commands[0]["exitCode"]!);
            Assert.Equal(0, Volatile.Read(ref connections));

            (result, commands) = await RunCommandsAsync(cli, ["--sandbox", "off", "--yes"], curl);
            Assert.Equal(body, (string)commands[0]["stdout"]!);
            Assert.Equal(1, Volatile.Read(ref connections));
        }
        finally
        {
            listener.Close();
            File.Delete(path);
        }
        await Assert.ThrowsAnyAsync<Exception>(() => serving);
    }

    [Fact]
    public async Task Git_commit_works_but_the_repository_config_hooks_and_info_cannot_be_changed()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        ProjectSetup.InitGit(cli.Project);
        var git = Path.Combine(cli.Project, ".git");
        var config = File.ReadAllText(Path.Combine(git, "config"));
        var marker = Path.Combine(cli.Project, "fsmonitor-ran");
        Directory.Delete(Path.Combine(git, "hooks"), recursive: true); // a missing hooks folder is not the command's to make
        // A submodule's own git folder, as `git submodule add` leaves it: git runs its configuration and hooks too.
        var submodule = Path.Combine(git, "modules", "lib");
        Directory.CreateDirectory(Path.Combine(submodule, "hooks"));
        File.WriteAllText(Path.Combine(submodule, "config"), "[core]\n\trepositoryformatversion = 0\n");

        var (result, commands) = await RunCommandsAsync(cli, [],
            $"git config core.fsmonitor 'touch {marker}'",
            $"printf '[core]\\n\\tfsmonitor = touch {marker}\\n' >> .git/config",
            "mkdir -p .git/hooks && echo 'touch hook-ran' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit",
            "echo '* filter=evil' > .git/info/attributes",
            // Renaming .git away and making a new one would leave the read-only parts behind.
            "mv .git .git-moved",
            $"printf '[core]\\n\\tfsmonitor = touch {marker}\\n' >> .git/modules/lib/config",
            "echo 'touch hook-ran' > .git/modules/lib/hooks/pre-commit",
            "echo a > a.txt && git add a.txt && git -c user.name=t -c user.email=t@example.com commit -qm sandboxed-commit && git log --oneline");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.All(commands[..7], c => Assert.NotEqual(0, (int)c["exitCode"]!));
        Assert.Contains("codebuff --sandbox off lifts the sandbox", (string)commands[0]["stderr"]!);
        Assert.Equal(config, File.ReadAllText(Path.Combine(git, "config")));
        Assert.False(File.Exists(Path.Combine(git, "hooks", "pre-commit")));
        Assert.False(File.Exists(Path.Combine(git, "info", "attributes")));
        Assert.False(Directory.Exists(Path.Combine(cli.Project, ".git-moved")));
        Assert.Equal("[core]\n\trepositoryformatversion = 0\n", File.ReadAllText(Path.Combine(submodule, "config")));
        Assert.False(File.Exists(Path.Combine(submodule, "hooks", "pre-commit")));
        Assert.Equal(0, (int)commands[7]["exitCode"]!);
        Assert.Contains("sandboxed-commit", (string)commands[7]["stdout"]!);

        // The user's next git status, outside the sandbox, runs nothing the model wrote.
        Assert.Contains("sandboxed-commit", Git(cli.Project, "log --oneline"));
        Git(cli.Project, "status");
        Assert.False(File.Exists(marker));
    }

    /// <summary>.git/commondir makes git read another folder's configuration (and run its core.fsmonitor): a command
    /// cannot change a worktree's, and one it plants at the top is removed when it ends.</summary>
    [Fact]
    public async Task A_commondir_cannot_be_changed_or_planted_to_send_git_elsewhere()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        ProjectSetup.InitGit(cli.Project);
        var git = Path.Combine(cli.Project, ".git");
        var marker = Path.Combine(cli.Project, "fsmonitor-ran");
        var worktree = Path.Combine(git, "worktrees", "wt");
        Directory.CreateDirectory(worktree);
        File.WriteAllText(Path.Combine(worktree, "commondir"), "../..\n");
        var evil = "/tmp/evil-git"; // the command's private /tmp: made inside, named in the planted file
        var (result, commands) = await RunCommandsAsync(cli, [],
            $"mkdir -p {evil} && printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = touch {marker}\\n' > {evil}/config && echo {evil} > .git/commondir && cat .git/commondir",
            "echo /elsewhere > .git/worktrees/wt/commondir");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(evil + "\n", (string)commands[0]["stdout"]!);
        Assert.EndsWith("[sandbox workspace-write] Removed .git/commondir: it would make git read another folder's configuration.", (string)commands[0]["stderr"]!);
        Assert.False(File.Exists(Path.Combine(git, "commondir")));
        Assert.NotEqual(0, (int)commands[1]["exitCode"]!);
        Assert.Equal("../..\n", File.ReadAllText(Path.Combine(worktree, "commondir")));
        Git(cli.Project, "status");
        Assert.False(File.Exists(marker));
    }

    /// <summary>In a project with no repository, a command's <c>git init</c> plus a core.fsmonitor would run at the user's
    /// next git command there (or at a shell prompt showing git status): the repository it made ends with it.</summary>
    [Fact]
    public async Task A_repository_made_by_a_command_in_a_project_without_one_does_not_outlive_the_command()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var marker = Path.Combine(cli.Project, "fsmonitor-ran");
        var (result, commands) = await RunCommandsAsync(cli, [],
            $"git init -q && git config core.fsmonitor 'touch {marker}' && mkdir -p .git/hooks && echo 'touch {marker}' > .git/hooks/post-checkout && git config --get core.fsmonitor",
            "ls -A .git | wc -l");

        Assert.True(result.ExitCode == 0, result.Error);
        // Inside its sandbox the command had a repository (git worked), and the next command starts without it.
        Assert.Equal(0, (int)commands[0]["exitCode"]!);
        Assert.Equal($"touch {marker}\n", (string)commands[0]["stdout"]!);
        Assert.Equal("0\n", (string)commands[1]["stdout"]!);
        Assert.False(Path.Exists(Path.Combine(cli.Project, ".git")));

        // The user's git, outside the sandbox, finds no repository the model made and runs nothing.
        Git(cli.Project, "status");
        Assert.False(File.Exists(marker));
        // The user can still make their own.
        Git(cli.Project, "init -q");
        Assert.True(File.Exists(Path.Combine(cli.Project, ".git", "HEAD")));
    }

    /// <summary>With --network, abstract sockets (X11, a session D-Bus) are reachable: the variables naming them are not passed.</summary>
    [Fact]
    public async Task Desktop_session_variables_do_not_reach_a_sandboxed_command_even_with_network()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Env["DISPLAY"] = ":77";
        cli.Env["XAUTHORITY"] = "/home/someone/.Xauthority";
        cli.Env["DBUS_SESSION_BUS_ADDRESS"] = "unix:abstract=/tmp/dbus-cbtest";
        cli.Env["SSH_AUTH_SOCK"] = "/tmp/ssh-cbtest/agent.1";
        cli.Env["PLAIN_SETTING"] = "plain";
        const string echo = "echo \"display=($DISPLAY) xauth=($XAUTHORITY) dbus=($DBUS_SESSION_BUS_ADDRESS) ssh=($SSH_AUTH_SOCK) plain=($PLAIN_SETTING)\"";

        var (result, commands) = await RunCommandsAsync(cli, ["--network"], echo);
        Assert.Equal("display=() xauth=() dbus=() ssh=() plain=(plain)\n", (string)commands[0]["stdout"]!);

        (result, commands) = await RunCommandsAsync(cli, ["--network", "--env", "DISPLAY"], echo);
        Assert.Equal("display=(:77) xauth=() dbus=() ssh=() plain=(plain)\n", (string)commands[0]["stdout"]!);
    }

    [Fact]
    public async Task Credential_files_of_the_home_folder_cannot_be_read_or_changed_even_when_it_is_the_project()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Home = cli.Project; // the strictest case: the home folder is the (writable) project
        var nonce = Guid.NewGuid().ToString("N");
        var secrets = new Dictionary<string, string>
        {
            [".git-credentials"] = $"https://me:gitpass-{nonce}@github.com\n",
            [".ssh/id_ed25519"] = $"sshkey-{nonce}\n",
            [".aws/credentials"] = $"[default]\naws_secret_access_key = aws-{nonce}\n",
            [".config/gh/hosts.yml"] = $"github.com:\n  oauth_token: gh-{nonce}\n",
            [".config/manicode/other.json"] = $"cli-{nonce}\n",
        };
        foreach (var (path, content) in secrets) cli.Write(path, content);

        var (result, commands) = await RunCommandsAsync(cli, [],
            "cat ~/.git-credentials ~/.ssh/id_ed25519 ~/.aws/credentials ~/.config/gh/hosts.yml ~/.config/manicode/other.json; ls -A ~/.ssh ~/.aws",
            "echo https://attacker@example.com > ~/.git-credentials",
            $"cat {cli.Project}/.git-credentials");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.All(commands, c => Assert.DoesNotContain(nonce, c.ToJsonString()));
        Assert.DoesNotContain("id_ed25519", (string)commands[0]["stdout"]!);
        Assert.NotEqual(0, (int)commands[1]["exitCode"]!);
        foreach (var (path, content) in secrets) Assert.Equal(content, cli.File(path));
        Assert.DoesNotContain(nonce, string.Join('\n', server.Llm.Requests().Select(r => r.ToJsonString())));
    }

    [Fact]
    public async Task Secret_looking_variables_reach_a_command_only_when_passed_with_env()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var nonce = Guid.NewGuid().ToString("N")[..10];
        cli.Env["MY_SERVICE_TOKEN"] = $"token-{nonce}";
        cli.Env["DB_PASSWORD"] = $"password-{nonce}";
        cli.Env["PLAIN_SETTING"] = $"plain-{nonce}";
        const string echo = "echo \"token=($MY_SERVICE_TOKEN) password=($DB_PASSWORD) key=($CODEBUFF_API_KEY) plain=($PLAIN_SETTING)\"";

        var (result, commands) = await RunCommandsAsync(cli, [], echo);
        Assert.Equal($"token=() password=() key=() plain=(plain-{nonce})\n", (string)commands[0]["stdout"]!);

        (result, commands) = await RunCommandsAsync(cli, ["--env", "MY_SERVICE_TOKEN", "--env", "DB_PASSWORD"], echo);
        Assert.Equal($"token=(token-{nonce}) password=(password-{nonce}) key=() plain=(plain-{nonce})\n", (string)commands[0]["stdout"]!);

        // Without a sandbox too: the environment is not the sandbox's to give away.
        (result, commands) = await RunCommandsAsync(cli, ["--sandbox", "off", "--yes"], echo);
        Assert.Equal($"token=() password=() key=() plain=(plain-{nonce})\n", (string)commands[0]["stdout"]!);
    }

    [Fact]
    public async Task Commands_have_no_capabilities_so_even_root_cannot_remount_or_write_read_only_paths()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var nonce = Guid.NewGuid().ToString("N");
        var (result, commands) = await RunCommandsAsync(cli, [],
            "id -u && grep CapEff /proc/self/status",
            $"mount -o remount,rw / && touch /cb-remounted-{nonce}",
            $"touch /etc/cb-{nonce}",
            $"touch /usr/cb-{nonce}");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Matches(@"CapEff:\s+0000000000000000", (string)commands[0]["stdout"]!);
        Assert.All(commands[1..], c => Assert.NotEqual(0, (int)c["exitCode"]!));
        Assert.False(File.Exists($"/cb-remounted-{nonce}"));
        Assert.False(File.Exists($"/etc/cb-{nonce}"));
        Assert.False(File.Exists($"/usr/cb-{nonce}"));
        Assert.Contains("[sandbox workspace-write]", (string)commands[2]["stderr"]!);
    }

    [Fact]
    public async Task Approval_modes_decide_whether_a_sandboxed_command_runs()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;

        var (result, commands) = await RunCommandsAsync(cli, [], "touch by-default.txt");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("", result.Error); // a sandbox is there: nothing to warn about
        Assert.True(File.Exists(Path.Combine(cli.Project, "by-default.txt")));

        (result, commands) = await RunCommandsAsync(cli, ["--approve", "ask"], "touch asked.txt");
        Assert.False(File.Exists(Path.Combine(cli.Project, "asked.txt")));
        Assert.Equal("Not run: commands need approval and nobody is at the keyboard; run codebuff with --yes (--approve auto) to run them without asking.",
            (string)commands[0]["errorMessage"]!);

        (result, commands) = await RunCommandsAsync(cli, ["--approve", "deny", "--yes"], "touch denied.txt");
        Assert.False(File.Exists(Path.Combine(cli.Project, "denied.txt")));
        Assert.Equal("Not run: commands are turned off (--approve deny).", (string)commands[0]["errorMessage"]!);
    }

    [Fact]
    public async Task Without_a_sandbox_the_cli_says_so_once_and_asks_before_every_command()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Env["CODEBUFF_BWRAP"] = "/nonexistent/bwrap";

        var (result, commands) = await RunCommandsAsync(cli, [], "touch first.txt", "touch second.txt");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("Commands run without a sandbox: bubblewrap (/nonexistent/bwrap) was not found; install it (Debian/Ubuntu: apt install bubblewrap). Each one is asked about before it runs.\n",
            result.Error);
        Assert.All(commands, c => Assert.StartsWith("Not run: commands need approval", (string)c["errorMessage"]!));
        Assert.False(File.Exists(Path.Combine(cli.Project, "first.txt")));
        Assert.False(File.Exists(Path.Combine(cli.Project, "second.txt")));

        (result, commands) = await RunCommandsAsync(cli, ["--approve", "auto"], "touch told.txt");
        Assert.StartsWith("Commands run WITHOUT a sandbox: bubblewrap (/nonexistent/bwrap) was not found", result.Error);
        Assert.True(File.Exists(Path.Combine(cli.Project, "told.txt")));
    }

    /// <summary>Runs <paramref name="commands"/> as the model's run_terminal_command calls, in order; their results as the model got them.</summary>
    async Task<(CodebuffCli.Result Result, JsonObject[] Commands)> RunCommandsAsync(CodebuffCli cli, string[] flags, params string[] commands)
    {
        var nonce = Guid.NewGuid().ToString("N");
        var calls = commands.Select(c => $"[[tool:run_terminal_command {new JsonObject { ["command"] = c }.ToJsonString()}]]");
        var result = await cli.RunAsync(["-p", "--agent", "tester", .. flags, $"{nonce} {string.Join(' ', calls)} [[reply:Done.]]"]);
        Assert.True(result.ExitCode == 0, result.Error);
        return (result, ProjectSetup.ToolResults(server.Llm, nonce).Select(r => JsonNode.Parse(r)!.AsObject()).ToArray());
    }

    static string Git(string dir, string args)
    {
        using var p = Process.Start(new ProcessStartInfo("git", args) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
