using System.Text;

namespace Codebuff.Cli.Ui;

/// <summary>
/// The prompt line: at a terminal a small editor (←/→, Home/End, Backspace/Delete, ↑/↓ history, Tab completes
/// slash commands, Ctrl+J inserts a newline); otherwise plain lines from standard input.
/// </summary>
public sealed class LineEditor(CliHost host, IReadOnlyList<string> completions)
{
    readonly List<string> _history = [];

    public string? ReadLine(string prompt)
    {
        var line = host.Interactive ? ReadKeys(prompt) : host.In.ReadLine();
        if (!string.IsNullOrWhiteSpace(line) && (_history.Count == 0 || _history[^1] != line)) _history.Add(line);
        return line;
    }

    string? ReadKeys(string prompt)
    {
        Console.Write(prompt);
        var buffer = new StringBuilder();
        var cursor = 0;
        var historyIndex = _history.Count;
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    return buffer.ToString();
                case ConsoleKey.J when key.Modifiers.HasFlag(ConsoleModifiers.Control):
                    buffer.Insert(cursor++, '\n');
                    break;
                case ConsoleKey.D when key.Modifiers.HasFlag(ConsoleModifiers.Control) && buffer.Length == 0:
                    Console.WriteLine();
                    return null;
                case ConsoleKey.Backspace when cursor > 0:
                    buffer.Remove(--cursor, 1);
                    break;
                case ConsoleKey.Delete when cursor < buffer.Length:
                    buffer.Remove(cursor, 1);
                    break;
                case ConsoleKey.LeftArrow when cursor > 0: cursor--; break;
                case ConsoleKey.RightArrow when cursor < buffer.Length: cursor++; break;
                case ConsoleKey.Home: cursor = 0; break;
                case ConsoleKey.End: cursor = buffer.Length; break;
                case ConsoleKey.UpArrow when historyIndex > 0:
                    buffer.Clear().Append(_history[--historyIndex]);
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.DownArrow when historyIndex < _history.Count:
                    historyIndex++;
                    buffer.Clear().Append(historyIndex < _history.Count ? _history[historyIndex] : "");
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.Tab when buffer.Length > 0 && buffer[0] == '/':
                    var matches = completions.Where(c => c.StartsWith(buffer.ToString(), StringComparison.Ordinal)).ToArray();
                    if (matches.Length == 1) { buffer.Clear().Append(matches[0]).Append(' '); cursor = buffer.Length; }
                    else if (matches.Length > 1) { Console.WriteLine(); Console.WriteLine(string.Join("  ", matches)); }
                    break;
                default:
                    if (!char.IsControl(key.KeyChar)) buffer.Insert(cursor++, key.KeyChar);
                    break;
            }
            Redraw(prompt, buffer, cursor);
        }
    }

    static void Redraw(string prompt, StringBuilder buffer, int cursor)
    {
        var shown = buffer.ToString().Replace('\n', '↵');
        Console.Write("\r\u001b[K" + prompt + shown);
        var back = shown.Length - cursor;
        if (back > 0) Console.Write($"\u001b[{back}D");
    }
}
