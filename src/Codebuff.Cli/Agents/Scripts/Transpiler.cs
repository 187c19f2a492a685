using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Jint;
using Jint.Native;
using Jint.Runtime;

namespace Codebuff.Cli.Agents.Scripts;

/// <summary>
/// Strips TypeScript and turns ES module syntax into CommonJS with Sucrase (pinned in tools/transpiler, embedded by the
/// build) running in Jint. Sucrase keeps line numbers, so errors in the result point at the author's lines. Results are
/// cached by the hash of the file's text in <paramref name="cacheDir"/>: Sucrase is only loaded when a file changed.
/// </summary>
public sealed class Transpiler(string cacheDir)
{
    const string BundleName = "sucrase.bundle.js";
    Engine? _sucrase;
    static readonly Lazy<string> BundleHash = new(() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Bundle())))[..16]);

    /// <summary>CommonJS for one file; throws <see cref="ScriptError"/> with the line when Sucrase cannot read it.</summary>
    public string Transpile(string file, string source)
    {
        var transforms = Path.GetExtension(file) switch
        {
            ".ts" or ".mts" or ".cts" => "['typescript', 'imports']",
            ".tsx" => "['typescript', 'jsx', 'imports']",
            ".cjs" => null,
            _ => "['imports']",
        };
        if (transforms is null) return source;
        if (source.Length > DefinitionFile.MaxBytes) throw new ScriptError(null, $"it is larger than {DefinitionFile.MaxBytes >> 20} MiB");
        // Modern syntax (?., ??) stays as written: Jint runs it, and handleSteps is stored as its own source, which
        // must not call helpers Sucrase would add to the module.
        var options = $"{{ transforms: {transforms}, production: true, disableESTransforms: true }}";
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{BundleHash.Value}\n{options}\n{source}")));
        var cached = Path.Combine(cacheDir, key + ".js");
        if (File.Exists(cached)) return File.ReadAllText(cached);

        var engine = _sucrase ??= LoadSucrase();
        string code;
        try
        {
            var transform = engine.Evaluate($"(function (code) {{ return sucrase.transform(code, {options}).code; }})");
            code = engine.Invoke(transform, source).AsString();
        }
        catch (Exception e) when (e is TimeoutException or MemoryLimitExceededException or StatementsCountOverflowException)
        {
            // A pathological source must not hang or exhaust the CLI; the engine is left in an unknown state, so drop it.
            _sucrase = null;
            throw new ScriptError(null, "stripping its types took too long or too much memory");
        }
        catch (JavaScriptException e)
        {
            // Sucrase's messages end with "(line:column)".
            var m = System.Text.RegularExpressions.Regex.Match(e.Message, @"\((\d+):(\d+)\)");
            throw new ScriptError(m.Success ? int.Parse(m.Groups[1].Value) : null, e.Message);
        }
        Save(cached, code);
        return code;
    }

    static Engine LoadSucrase()
    {
        // Loading the bundle and each transform are bounded like the definitions' own engine (an allocation budget, not
        // live memory: Sucrase allocates a lot on the way), so a crafted source cannot hang or exhaust the CLI.
        var engine = new Engine(o => o.Strict(false).TimeoutInterval(TimeSpan.FromSeconds(20)).MaxStatements(100_000_000)
            .LimitMemory(1L << 30));
        engine.Execute(Bundle(), BundleName);
        return engine;
    }

    static string Bundle()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(BundleName)
            ?? throw new InvalidOperationException($"{BundleName} is not embedded; build the CLI with npm available (tools/transpiler).");
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>Only the user may read the cache (the sources may be private), like the CLI's other files.</summary>
    static void Save(string path, string code)
    {
        try
        {
            var dir = Path.GetDirectoryName(path)!;
            if (!Directory.Exists(dir))
            {
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
                else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream)) writer.Write(code);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A cache that cannot be written only costs time on the next start.
        }
    }
}
