using System.Text;

namespace Codebuff.Cli.Tools;

/// <summary>A unified diff of two texts (longest common subsequence over lines, three lines of context).</summary>
public static class UnifiedDiff
{
    const int Context = 3;

    public static string Create(string path, string before, string after)
    {
        var a = Lines(before);
        var b = Lines(after);
        if ((long)a.Length * b.Length > 4_000_000) return $"--- a/{path}\n+++ b/{path}\n(the file changed too much to show a diff)\n";
        var ops = Diff(a, b);
        var sb = new StringBuilder($"--- a/{path}\n+++ b/{path}\n");
        var changes = Enumerable.Range(0, ops.Count).Where(i => ops[i].Kind != ' ').ToList();
        var k = 0;
        while (k < changes.Count)
        {
            var start = Math.Max(0, changes[k] - Context);
            var end = changes[k];
            while (k < changes.Count && changes[k] <= end + 2 * Context) end = changes[k++];
            end = Math.Min(ops.Count - 1, end + Context);
            var hunk = ops.GetRange(start, end - start + 1);
            int aStart = ops.Take(start).Count(o => o.Kind != '+') + 1, bStart = ops.Take(start).Count(o => o.Kind != '-') + 1;
            sb.Append($"@@ -{aStart},{hunk.Count(o => o.Kind != '+')} +{bStart},{hunk.Count(o => o.Kind != '-')} @@\n");
            foreach (var o in hunk) sb.Append(o.Kind).Append(o.Line).Append('\n');
        }
        return sb.ToString();
    }

    static string[] Lines(string text) => text.Length == 0 ? [] : text.TrimEnd('\n').Split('\n');

    static List<(char Kind, string Line)> Diff(string[] a, string[] b)
    {
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
            for (var j = b.Length - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        var ops = new List<(char, string)>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y]) { ops.Add((' ', a[x])); x++; y++; }
            // Removals before additions, as diff(1) prints them.
            else if (x < a.Length && (y == b.Length || lcs[x + 1, y] >= lcs[x, y + 1])) ops.Add(('-', a[x++]));
            else ops.Add(('+', b[y++]));
        }
        return ops;
    }
}
