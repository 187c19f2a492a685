using System.Diagnostics;

// Start-up time of the codebuff CLI as it ships (published Release, ReadyToRun) against two references measured in
// the same run: a trivial .NET console app (this driver with --hello: the runtime's floor) and the same CLI published
// without ReadyToRun (the effect of precompiling). Each command runs N times after one warm-up; the OS file cache is warm.
//   dotnet run -c Release --project bench/Codebuff.Bench.CliStartup -- [--runs 20]
if (args is ["--hello"]) { Console.WriteLine("hello"); return 0; }

var runs = args.SkipWhile(a => a != "--runs").Skip(1).Select(int.Parse).FirstOrDefault(20);
var repo = FindRepo();
var work = Directory.CreateTempSubdirectory("cb-startup-").FullName;
try
{
    var r2r = Publish(repo, Path.Combine(work, "r2r"), readyToRun: true);
    var jit = Publish(repo, Path.Combine(work, "jit"), readyToRun: false);
    var home = Directory.CreateDirectory(Path.Combine(work, "home")).FullName;
    var self = Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? typeof(Program).Assembly.Location : Environment.ProcessPath!;

    var rows = new List<(string Target, string Command, double Median, double P90)>();
    var baseline = Measure("dotnet", [self.EndsWith(".dll", StringComparison.Ordinal) ? self : Path.ChangeExtension(self, ".dll"), "--hello"], home, runs);
    rows.Add(("trivial .NET app", "--hello", baseline.Median, baseline.P90));
    foreach (var command in new[] { "--version", "--help", "whoami" })
        foreach (var (name, dir) in new[] { ("codebuff (ReadyToRun)", r2r), ("codebuff (JIT only)", jit) })
        {
            var m = Measure("dotnet", [Path.Combine(dir, "codebuff.dll"), command], home, runs);
            rows.Add((name, command, m.Median, m.P90));
        }

    // Loading .agents/ (issue 27): `publish` loads every definition, then stops at the missing login (no network).
    // JSON-only folder vs the TypeScript one `codebuff init` writes, first run (no transpile cache: Sucrase loads in
    // Jint) and cached; the ratio column of these rows is against the JSON-only row.
    var jsonProject = Directory.CreateDirectory(Path.Combine(work, "json-project")).FullName;
    for (var i = 1; i <= 5; i++)
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(jsonProject, ".agents")).FullName, $"agent-{i}.json"),
            $$"""{ "id": "agent-{{i}}", "displayName": "Agent {{i}}", "model": "m", "toolNames": ["read_files", "end_turn"], "systemPrompt": "You help." }""");
    var tsProject = Directory.CreateDirectory(Path.Combine(work, "ts-project")).FullName;
    Measure("dotnet", [Path.Combine(r2r, "codebuff.dll"), "init"], home, 0, tsProject);
    var cache = Path.Combine(home, ".cache", "codebuff", "transpiled");
    var json = Measure("dotnet", [Path.Combine(r2r, "codebuff.dll"), "publish"], home, runs, jsonProject);
    var first = Measure("dotnet", [Path.Combine(r2r, "codebuff.dll"), "publish"], home, runs, tsProject,
        () => { if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true); });
    var cached = Measure("dotnet", [Path.Combine(r2r, "codebuff.dll"), "publish"], home, runs, tsProject);
    var agentRows = new[] { ("JSON-only .agents/ (5 files)", json), ("TypeScript .agents/ (codebuff init), first run", first), ("TypeScript .agents/, cached", cached) };

    Console.WriteLine($"| target | command | median ms | p90 ms | median / trivial app |");
    Console.WriteLine("|---|---|---:|---:|---:|");
    foreach (var r in rows)
        Console.WriteLine($"| {r.Target} | `{r.Command}` | {r.Median:0.0} | {r.P90:0.0} | {r.Median / baseline.Median:0.00} |");
    Console.WriteLine();
    Console.WriteLine($"| codebuff (ReadyToRun) `publish`, not logged in | median ms | p90 ms | median / JSON-only |");
    Console.WriteLine("|---|---:|---:|---:|");
    foreach (var (name, m) in agentRows)
        Console.WriteLine($"| {name} | {m.Median:0.0} | {m.P90:0.0} | {m.Median / json.Median:0.00} |");
    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

static string Publish(string repo, string output, bool readyToRun)
{
    var psi = new ProcessStartInfo("dotnet", ["publish", Path.Combine(repo, "src", "Codebuff.Cli"), "-c", "Release", "-r", "linux-x64",
        "--self-contained", "false", $"-p:PublishReadyToRun={readyToRun}", "-o", output, "-nologo", "-v", "q"])
    { RedirectStandardOutput = true };
    using var p = Process.Start(psi)!;
    var log = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException($"dotnet publish failed:\n{log}");
    return output;
}

// whoami with an empty home: reads the configuration, finds no login and prints the sentence; no network.
static (double Median, double P90) Measure(string file, string[] arguments, string home, int runs, string? cwd = null, Action? before = null)
{
    var times = new List<double>();
    for (var i = 0; i <= runs; i++)
    {
        before?.Invoke();
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = cwd ?? "" };
        psi.Environment["HOME"] = home;
        psi.Environment.Remove("CODEBUFF_API_KEY");
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        watch.Stop();
        if (i > 0) times.Add(watch.Elapsed.TotalMilliseconds);
    }
    if (times.Count == 0) return (0, 0);
    times.Sort();
    return (times[times.Count / 2], times[(int)Math.Ceiling(times.Count * 0.9) - 1]);
}

static string FindRepo()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Codebuff.slnx"))) return dir.FullName;
    throw new InvalidOperationException("Run from inside the repository.");
}
