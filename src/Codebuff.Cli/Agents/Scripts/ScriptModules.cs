using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime;

namespace Codebuff.Cli.Agents.Scripts;

/// <summary>
/// Evaluates the TypeScript/JavaScript files of one <c>.agents</c> folder as CommonJS modules in Jint, the way upstream
/// imports them: each file's default export is its definition, <c>handleSteps</c> is kept as its source
/// (<c>toString()</c>). A module may import sibling files by relative path; packages and <c>node:</c> modules are
/// refused, as is anything outside the folder [our choice: a definition is data, not a program with dependencies].
/// </summary>
public sealed class ScriptModules
{
    /// <summary>What one evaluation may allocate (Jint counts the bytes the thread allocates during a call).</summary>
    public const long MemoryLimit = 256L << 20;
    static readonly string[] Extensions = [".ts", ".tsx", ".js", ".mjs", ".cjs", ".json"];
    readonly string _folder;
    readonly Transpiler _transpiler;
    readonly Engine _engine;
    readonly JsValue _wrap, _toJson;
    readonly Dictionary<string, JsValue> _modules = new(StringComparer.Ordinal);

    public ScriptModules(string folder, Transpiler transpiler)
    {
        _folder = Path.GetFullPath(folder);
        _transpiler = transpiler;
        // Module code runs once at start-up; these bounds keep a broken file from hanging the CLI. Functions keep their
        // source text so handleSteps can be stored as upstream stores it.
        _engine = new Engine(o => o.TimeoutInterval(TimeSpan.FromSeconds(10)).MaxStatements(10_000_000).LimitRecursion(512)
            .LimitMemory(MemoryLimit).RetainFunctionSourceText(true));
        _engine.SetValue("__require", new Func<string, string, JsValue>(Require));
        _engine.Execute("var process = { env: {} };");
        _wrap = _engine.Evaluate("(function (file) { return function (spec) { return __require(file, spec); }; })");
        _toJson = _engine.Evaluate("""
            (function (m) {
              var d = m && m.__esModule ? m.default : m;
              if (d === null || typeof d !== 'object' || Array.isArray(d)) return null;
              return JSON.stringify(d, function (k, v) { return typeof v === 'function' ? (k === 'handleSteps' ? v.toString() : undefined) : v; });
            })
            """);
    }

    /// <summary>The definition a file default-exports, or null when it exports none (a module of shared prompts, say).</summary>
    public JsonObject? Definition(string file)
    {
        var exports = Evaluate(Path.GetFullPath(file));
        var json = _engine.Invoke(_toJson, exports);
        return json.IsString() ? JsonNode.Parse(json.AsString()) as JsonObject : null;
    }

    JsValue Evaluate(string full)
    {
        if (_modules.TryGetValue(full, out var cached)) return cached.AsObject().Get("exports");
        var source = DefinitionFile.Read(full, _folder);
        var module = _engine.Evaluate("({ exports: {} })");
        _modules[full] = module;
        if (Path.GetExtension(full) == ".json")
        {
            module.AsObject().Set("exports", _engine.Invoke(_engine.Evaluate("JSON.parse"), source));
            return module.AsObject().Get("exports");
        }
        var code = _transpiler.Transpile(full, source);
        // The wrapper opens on the module's first line, so line numbers stay the file's.
        var body = _engine.Evaluate("(function (exports, require, module, __filename, __dirname) {" + code + "\n})", full);
        _engine.Invoke(body, module.AsObject().Get("exports"), _engine.Invoke(_wrap, full), module, full, Path.GetDirectoryName(full)!);
        return module.AsObject().Get("exports");
    }

    JsValue Require(string from, string spec)
    {
        if (spec.StartsWith("node:", StringComparison.Ordinal) || !(spec.StartsWith("./", StringComparison.Ordinal) || spec.StartsWith("../", StringComparison.Ordinal)))
            throw new ImportRefused(from, spec, spec.StartsWith("node:", StringComparison.Ordinal)
                ? $"imports the Node.js module \"{spec}\", which agent definitions here cannot use (no Node.js at run time)"
                : $"imports the package \"{spec}\"; only relative imports of files in .agents/ are supported");
        var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(from)!, spec));
        if (!target.StartsWith(_folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ImportRefused(from, spec, $"imports \"{spec}\", which is outside the .agents folder");
        var found = Candidates(target).FirstOrDefault(File.Exists)
                    ?? throw new ImportRefused(from, spec, $"imports \"{spec}\", which does not exist");
        return Evaluate(found);
    }

    static IEnumerable<string> Candidates(string target)
    {
        yield return target;
        // "./constants.js" in TypeScript names constants.ts.
        var stem = Path.GetExtension(target) is ".js" or ".mjs" or ".cjs" ? Path.ChangeExtension(target, null) : target;
        foreach (var ext in Extensions) yield return stem + ext;
        foreach (var ext in Extensions) yield return Path.Combine(target, "index" + ext);
    }

    /// <summary>The sentence naming file, line and reason for anything that went wrong evaluating <paramref name="file"/>.</summary>
    public static string Describe(string file, Exception e, string shownRoot)
    {
        string Show(string f) => Path.GetRelativePath(shownRoot, f);
        var inner = e;
        while (inner is not (ImportRefused or ScriptError or JavaScriptException or Acornima.ParseErrorException or MemoryLimitExceededException) && inner.InnerException is not null) inner = inner.InnerException;
        return inner switch
        {
            ImportRefused r => $"{Show(r.File)}:{r.Line}: {r.Message}",
            ScriptError s => $"{Show(file)}{(s.Line is { } l ? $":{l}" : "")}: {s.Message}",
            Acornima.ParseErrorException p => $"{Show(file)}:{p.LineNumber}: {p.Description}",
            JavaScriptException j => $"{Show(j.Location.SourceFile is { Length: > 0 } src && File.Exists(src) ? src : file)}:{j.Location.Start.Line}: {j.Message}",
            TimeoutException => $"{Show(file)}: evaluating it took more than 10 seconds",
            StatementsCountOverflowException => $"{Show(file)}: evaluating it ran more than 10,000,000 statements",
            MemoryLimitExceededException => $"{Show(file)}: evaluating it used more than {MemoryLimit >> 20} MB of memory",
            _ => $"{Show(file)}: {inner.Message}",
        };
    }

    sealed class ImportRefused(string file, string spec, string reason) : Exception(reason)
    {
        public string File { get; } = file;
        /// <summary>The first line naming the specifier (Sucrase keeps lines, so it is the import's line).</summary>
        public int Line { get; } = System.IO.File.ReadLines(file).Select((text, i) => (text, i))
            .FirstOrDefault(l => l.text.Contains($"'{spec}'") || l.text.Contains($"\"{spec}\"")).i + 1;
    }
}
