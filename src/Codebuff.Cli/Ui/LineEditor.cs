using System.Text;

namespace Codebuff.Cli.Ui;

/// <summary>
/// The prompt line: at a terminal a small editor (←/→, Home/End, Backspace/Delete, ↑/↓ history, Tab completes
/// slash commands, Ctrl+J inserts a newline, Ctrl+C clears the line or, on an empty one, exits like Ctrl+D);
/// otherwise plain lines from standard input. A line longer than the terminal wraps over several rows; every redraw
/// goes back to the first of them, so a long prompt is shown once, not once per key.
/// </summary>
public sealed class LineEditor(CliHost host, IReadOnlyList<string> completions)
{
    readonly List<string> _history = [];
    /// <summary>The row, counted from the prompt's first row, the terminal cursor is on.</summary>
    int _cursorRow;

    public string? ReadLine(string prompt)
    {
        var line = host.Interactive ? ReadKeys(prompt) : host.In.ReadLine();
        if (!string.IsNullOrWhiteSpace(line) && (_history.Count == 0 || _history[^1] != line)) _history.Add(line);
        return line;
    }

    string? ReadKeys(string prompt)
    {
        // Ctrl+C typed at the prompt is a key here; during a run it goes back to being the interrupt that stops the run.
        var treatControlC = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
        try
        {
            return Edit(prompt);
        }
        finally
        {
            Console.TreatControlCAsInput = treatControlC;
        }
    }

    string? Edit(string prompt)
    {
        var buffer = new StringBuilder();
        var cursor = 0;
        var historyIndex = _history.Count;
        _cursorRow = 0;
        Redraw(prompt, buffer, cursor);
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            var control = key.Modifiers.HasFlag(ConsoleModifiers.Control);
            switch (key.Key)
            {
                case ConsoleKey.Enter when !control:
                    Finish(prompt, buffer);
                    return buffer.ToString();
                case ConsoleKey.J when control:
                case ConsoleKey.Enter when control:
                    buffer.Insert(cursor++, '\n');
                    break;
                case ConsoleKey.C when control && buffer.Length > 0:
                    buffer.Clear();
                    cursor = 0;
                    historyIndex = _history.Count;
                    break;
                case ConsoleKey.C when control:
                case ConsoleKey.D when control && buffer.Length == 0:
                    Finish(prompt, buffer);
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
                case ConsoleKey.A when control: cursor = 0; break;
                case ConsoleKey.End: cursor = buffer.Length; break;
                case ConsoleKey.E when control: cursor = buffer.Length; break;
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
                    else if (matches.Length > 1)
                    {
                        Finish(prompt, buffer);
                        Console.WriteLine(string.Join("  ", matches));
                    }
                    break;
                default:
                    if (!char.IsControl(key.KeyChar)) buffer.Insert(cursor++, key.KeyChar);
                    break;
            }
            Redraw(prompt, buffer, cursor);
        }
    }

    static int Width => Console.WindowWidth is > 0 and var w ? w : 80;

    /// <summary>Moves below the line as drawn, so what follows starts on a fresh row.</summary>
    void Finish(string prompt, StringBuilder buffer)
    {
        Redraw(prompt, buffer, buffer.Length);
        Console.WriteLine();
        _cursorRow = 0;
    }

    void Redraw(string prompt, StringBuilder buffer, int cursor)
    {
        var shown = buffer.ToString().Replace('\n', '↵');
        var width = Width;
        var text = new StringBuilder();
        // Back to the prompt's first row, then clear from there to the end of the screen.
        if (_cursorRow > 0) text.Append($"\u001b[{_cursorRow}A");
        text.Append("\r\u001b[J").Append(prompt).Append(shown);
        var end = prompt.Length + shown.Length;
        // A row filled exactly leaves the cursor parked in its last column; step onto the next row so the arithmetic holds.
        if (end > 0 && end % width == 0) text.Append("\r\n");
        var target = prompt.Length + cursor;
        var up = end / width - target / width;
        if (up > 0) text.Append($"\u001b[{up}A");
        text.Append('\r');
        if (target % width > 0) text.Append($"\u001b[{target % width}C");
        Console.Write(text.ToString());
        _cursorRow = target / width;
    }
}
