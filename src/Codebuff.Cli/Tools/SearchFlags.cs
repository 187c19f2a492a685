using System.Text.RegularExpressions;

namespace Codebuff.Cli.Tools;

/// <summary>
/// The ripgrep flags <c>code_search</c> accepts, parsed once for both search engines. Only flags that shape the match
/// or filter the project's own files are allowed; anything that could add paths or run programs (<c>-e</c>,
/// <c>-f</c>, <c>--pre</c>, <c>-z</c>, <c>-L</c>, <c>--no-ignore</c>, a path…) is refused, and so is a glob with <c>..</c>.
/// </summary>
public sealed record SearchFlags
{
    public enum Case { Sensitive, Insensitive, Smart }

    public Case CaseMode { get; private set; } = Case.Sensitive;
    public bool Word { get; private set; }
    public bool WholeLine { get; private set; }
    public bool Fixed { get; private set; }
    public bool Multiline { get; private set; }
    public int Before { get; private set; }
    public int After { get; private set; }
    public int? MaxCount { get; private set; }
    /// <summary>-g/--iglob and the globs of -t/-T, in order; the last that matches a path decides.</summary>
    public List<(Regex Pattern, bool DirectoryOnly, bool Exclude)> Globs { get; } = [];

    public const string Allowed = "-i -s -S -w -x -F -U -n, -g/--glob GLOB, --iglob GLOB, -t/-T TYPE, -A/-B/-C N, -m N";

    static readonly Dictionary<string, string[]> Types = new()
    {
        ["c"] = ["*.c", "*.h"], ["cpp"] = ["*.cpp", "*.cc", "*.cxx", "*.hpp", "*.hh", "*.hxx", "*.h"], ["cs"] = ["*.cs", "*.csx"],
        ["csharp"] = ["*.cs", "*.csx"], ["css"] = ["*.css", "*.scss"], ["go"] = ["*.go"], ["html"] = ["*.html", "*.htm"],
        ["java"] = ["*.java"], ["js"] = ["*.js", "*.jsx", "*.mjs", "*.cjs", "*.vue"], ["json"] = ["*.json"], ["kotlin"] = ["*.kt", "*.kts"],
        ["md"] = ["*.md", "*.markdown", "*.mdx"], ["markdown"] = ["*.md", "*.markdown", "*.mdx"], ["php"] = ["*.php"], ["py"] = ["*.py", "*.pyi"],
        ["rb"] = ["*.rb"], ["ruby"] = ["*.rb"], ["rust"] = ["*.rs"], ["sh"] = ["*.sh", "*.bash", "*.zsh"], ["sql"] = ["*.sql"],
        ["swift"] = ["*.swift"], ["toml"] = ["*.toml"], ["ts"] = ["*.ts", "*.tsx", "*.mts", "*.cts"], ["txt"] = ["*.txt"],
        ["xml"] = ["*.xml", "*.csproj", "*.props", "*.targets"], ["yaml"] = ["*.yaml", "*.yml"],
    };

    static readonly Dictionary<string, string> Long = new()
    {
        ["--ignore-case"] = "i", ["--case-sensitive"] = "s", ["--smart-case"] = "S", ["--word-regexp"] = "w", ["--line-regexp"] = "x",
        ["--fixed-strings"] = "F", ["--multiline"] = "U", ["--line-number"] = "n", ["--glob"] = "g", ["--iglob"] = "iglob",
        ["--type"] = "t", ["--type-not"] = "T", ["--after-context"] = "A", ["--before-context"] = "B", ["--context"] = "C", ["--max-count"] = "m",
    };

    static readonly HashSet<string> TakesValue = ["g", "iglob", "t", "T", "A", "B", "C", "m"];

    /// <summary>The flags, or a sentence saying which one is refused and why.</summary>
    public static (SearchFlags? Flags, string? Error) Parse(string text)
    {
        var flags = new SearchFlags();
        var tokens = Tokens(text);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (!token.StartsWith('-') || token == "-" || token == "--")
                return (null, $"code_search flags cannot name files or folders (\"{token}\"): use cwd to pick a folder and -g to filter files. Allowed flags: {Allowed}.");
            string? error;
            if (token.StartsWith("--", StringComparison.Ordinal))
            {
                var (name, inline) = token.IndexOf('=') is var eq and > 0 ? (token[..eq], token[(eq + 1)..]) : (token, null);
                if (!Long.TryGetValue(name, out var key)) return (null, Refused(name));
                string? value = null;
                if (TakesValue.Contains(key) && (value = inline ?? (i + 1 < tokens.Count ? tokens[++i] : null)) is null)
                    return (null, $"The flag {name} needs a value.");
                if (!TakesValue.Contains(key) && inline is not null) return (null, $"The flag {name} takes no value.");
                if ((error = flags.Apply(key, value)) is not null) return (null, error);
                continue;
            }
            for (var c = 1; c < token.Length; c++)
            {
                var key = token[c].ToString();
                if (!Long.ContainsValue(key) || key == "iglob") return (null, Refused("-" + key));
                string? value = null;
                if (TakesValue.Contains(key))
                {
                    value = c + 1 < token.Length ? token[(c + 1)..] : i + 1 < tokens.Count ? tokens[++i] : null;
                    if (value is null) return (null, $"The flag -{key} needs a value.");
                    c = token.Length;
                }
                if ((error = flags.Apply(key, value)) is not null) return (null, error);
            }
        }
        return (flags, null);
    }

    static string Refused(string flag) =>
        $"code_search does not accept the flag {flag}: only flags that shape the match or filter the project's files are allowed ({Allowed}).";

    string? Apply(string key, string? value)
    {
        switch (key)
        {
            case "i": CaseMode = Case.Insensitive; break;
            case "s": CaseMode = Case.Sensitive; break;
            case "S": CaseMode = Case.Smart; break;
            case "w": Word = true; break;
            case "x": WholeLine = true; break;
            case "F": Fixed = true; break;
            case "U": Multiline = true; break;
            case "n": break;
            case "g" or "iglob": return AddGlob(value!, key == "iglob");
            case "t" or "T":
                if (!Types.TryGetValue(value!, out var globs))
                    return $"Unknown file type \"{value}\"; the types are {string.Join(", ", Types.Keys)}.";
                foreach (var g in globs) AddGlob(key == "t" ? g : "!" + g, false);
                break;
            default:
                if (!int.TryParse(value, out var n) || n < 0 || n > 1000) return $"The flag -{key} needs a number from 0 to 1000.";
                if (key == "A") After = n;
                else if (key == "B") Before = n;
                else if (key == "C") Before = After = n;
                else MaxCount = n;
                break;
        }
        return null;
    }

    string? AddGlob(string glob, bool ignoreCase)
    {
        var exclude = glob.StartsWith('!');
        var body = exclude ? glob[1..] : glob;
        if (body.Split('/', '\\').Contains("..") || body.StartsWith('~'))
            return $"The glob \"{glob}\" leaves the searched folder; globs filter files inside it.";
        if (GitGlob.ToRegex(body, ignoreCase) is not { } regex) return $"The glob \"{glob}\" is empty.";
        Globs.Add((regex.Pattern, regex.DirectoryOnly, exclude));
        return null;
    }

    /// <summary>Whether a file (its path relative to the searched folder) passes the globs, as ripgrep's -g decides.</summary>
    public bool Includes(string relative)
    {
        if (Globs.Count == 0) return true;
        var parts = relative.Split('/');
        for (var g = Globs.Count - 1; g >= 0; g--)
        {
            var (pattern, directoryOnly, exclude) = Globs[g];
            for (var i = parts.Length; i >= 1; i--)
                if ((!directoryOnly || i < parts.Length) && pattern.IsMatch(string.Join('/', parts[..i])))
                    return !exclude;
        }
        return !Globs.Any(x => !x.Exclude);
    }

    /// <summary>The .NET regular expression for a pattern under these flags (the fallback's matcher).</summary>
    public Regex ToRegex(string pattern)
    {
        var body = Fixed ? Regex.Escape(pattern) : pattern;
        if (Word) body = $@"(?<!\w)(?:{body})(?!\w)";
        if (WholeLine) body = $"^(?:{body})$";
        var ignoreCase = CaseMode == Case.Insensitive || (CaseMode == Case.Smart && !HasUpper(pattern));
        var options = RegexOptions.Multiline | RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        return new Regex(body, options, TimeSpan.FromSeconds(2));
    }

    /// <summary>The ripgrep arguments that carry these flags (the globs are applied to its output instead).</summary>
    public IEnumerable<string> RipgrepArguments()
    {
        yield return CaseMode switch { Case.Insensitive => "--ignore-case", Case.Smart => "--smart-case", _ => "--case-sensitive" };
        if (Word) yield return "--word-regexp";
        if (WholeLine) yield return "--line-regexp";
        if (Fixed) yield return "--fixed-strings";
        if (Multiline) yield return "--multiline";
        if (Before > 0) { yield return "--before-context"; yield return Before.ToString(); }
        if (After > 0) { yield return "--after-context"; yield return After.ToString(); }
    }

    /// <summary>Smart case as ripgrep has it: an upper-case letter in the pattern, not counting escapes like \W.</summary>
    static bool HasUpper(string pattern)
    {
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\') { i++; continue; }
            if (char.IsUpper(pattern[i])) return true;
        }
        return false;
    }

    /// <summary>Splits like a shell would for quotes: <c>-g '*.cs'</c> and <c>-g "*.cs"</c> are one glob.</summary>
    static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var current = new System.Text.StringBuilder();
        var inToken = false;
        char? quote = null;
        foreach (var ch in text)
        {
            if (quote is not null)
            {
                if (ch == quote) quote = null;
                else current.Append(ch);
            }
            else if (ch is '\'' or '"') { quote = ch; inToken = true; }
            else if (char.IsWhiteSpace(ch))
            {
                if (inToken) tokens.Add(current.ToString());
                current.Clear();
                inToken = false;
            }
            else { current.Append(ch); inToken = true; }
        }
        if (inToken) tokens.Add(current.ToString());
        return tokens;
    }
}
