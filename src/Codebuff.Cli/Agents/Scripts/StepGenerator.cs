using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime;

namespace Codebuff.Cli.Agents.Scripts;

/// <summary>
/// An agent's <c>handleSteps</c>, from its source string (as upstream stores it), running in its own Jint engine: no
/// host objects, no modules, and between two yields at most <see cref="TimeLimit"/> and <see cref="StatementLimit"/>
/// statements. Values cross as JSON, so nothing of the CLI is reachable from the script.
/// </summary>
public sealed class StepGenerator
{
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(10);
    public const int StatementLimit = 10_000_000;

    readonly string _agentId;
    readonly Engine _engine;
    readonly JsValue _generator, _next;

    /// <summary>Starts the generator with <c>{ agentState, prompt, params, logger }</c>.</summary>
    public StepGenerator(string agentId, string source, JsonObject context)
    {
        _agentId = agentId;
        _engine = new Engine(o => o.TimeoutInterval(TimeLimit).MaxStatements(StatementLimit).LimitRecursion(512)
            .LimitMemory(ScriptModules.MemoryLimit).Strict(false));
        try
        {
            // Like upstream's `new Function("return (" + source + ")")()`: the source is one function expression.
            var make = _engine.Evaluate("(function () { return (" + source + "\n); })", "handleSteps");
            var start = _engine.Evaluate("""
                (function (fn, json) {
                  var ctx = JSON.parse(json);
                  // Upstream sends these lines to its server's log; here they go nowhere.
                  function log() {}
                  ctx.logger = { debug: log, info: log, warn: log, error: log };
                  return fn(ctx);
                })
                """);
            _next = _engine.Evaluate("""
                (function (gen, json) {
                  var r = gen.next(JSON.parse(json));
                  return JSON.stringify({ done: !!r.done, value: r.value === undefined ? null : r.value });
                })
                """);
            var fn = _engine.Invoke(make);
            if (fn is not Jint.Native.Function.Function) throw new CliException(Error("its source is not a function"));
            _generator = _engine.Invoke(start, fn, context.ToJsonString());
        }
        catch (Exception e) when (e is not CliException)
        {
            throw new CliException(Error(Reason(e)));
        }
    }

    /// <summary>Resumes the generator with <paramref name="input"/> (<c>{agentState, toolResult, stepsComplete, nResponses}</c>); null when it returned.</summary>
    public JsonNode? Next(JsonObject input, out bool done)
    {
        string text;
        try
        {
            text = _engine.Invoke(_next, _generator, input.ToJsonString()).AsString();
        }
        catch (Exception e)
        {
            throw new CliException(Error(Reason(e)));
        }
        var result = JsonNode.Parse(text)!;
        done = (bool)result["done"]!;
        return result["value"]?.DeepClone();
    }

    string Error(string reason) => $"Error executing handleSteps for agent {_agentId}: {reason}";

    static string Reason(Exception e) => e switch
    {
        TimeoutException => $"it ran for more than {TimeLimit.TotalSeconds:0} seconds without yielding",
        StatementsCountOverflowException => $"it ran more than {StatementLimit:N0} statements without yielding",
        RecursionDepthOverflowException => "it recursed too deeply",
        MemoryLimitExceededException => $"it used more than {ScriptModules.MemoryLimit >> 20} MB of memory without yielding",
        JavaScriptException j => $"{j.Message} (handleSteps line {j.Location.Start.Line})",
        Acornima.ParseErrorException p => $"its source does not parse: {p.Description} (line {p.LineNumber})",
        _ => e.Message,
    };
}
