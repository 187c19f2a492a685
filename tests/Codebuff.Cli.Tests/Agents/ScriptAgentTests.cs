using Codebuff.Cli.Tests.Infrastructure;
using Codebuff.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Codebuff.Cli.Tests.Agents;

/// <summary>
/// TypeScript/JavaScript agent definitions in .agents/ (clients.md §2.10) loaded and run by the real CLI against the
/// real server and fake-llm.mjs: type-only imports, <c>satisfies</c>, sibling modules, a package.json beside them,
/// errors that name file and line, and the transpile cache.
/// </summary>
public sealed class ScriptAgentTests(CliFixture server) : IClassFixture<CliFixture>
{
    const string Types = """
        export interface AgentDefinition { id: string; displayName: string; model: string; [key: string]: unknown }
        export type ToolCall = { toolName: string; input: Record<string, unknown>; includeToolCall?: boolean }
        """;

    [Fact]
    public async Task A_package_json_in_agents_does_not_stop_the_json_agents()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        // What upstream's `codebuff init` puts beside the agents; it once stopped every agent ("has no \"id\"").
        cli.Write(".agents/package.json", """{ "name": "codebuff-agents", "version": "0.0.0", "license": "Apache-2.0" }""");
        cli.Write(".agents/tsconfig.json", """{ "compilerOptions": { "strict": true } }""");

        var result = await cli.RunAsync(["-p", "--agent", "helper", "hi"]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("Hello from the fake LLM! You are talking to test/fake-model.", result.Out.Trim());
        Assert.DoesNotContain("package.json", result.Error);
        Assert.DoesNotContain("tsconfig", result.Error);
    }

    [Fact]
    public async Task TypeScript_definitions_with_type_imports_satisfies_and_sibling_modules_run_and_are_cached()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var nonce = Guid.NewGuid().ToString("N");
        cli.Write(".agents/package.json", """{ "name": "codebuff-agents", "version": "0.0.0" }""");
        cli.Write(".agents/types/agent-definition.ts", Types);
        cli.Write(".agents/lib/prompts.ts", $$"""
            export const SYSTEM: string = 'You review code. Marker {{nonce}}.'
            export function reviewerNamed(name: string): { id: string; displayName: string } {
              return { id: name, displayName: `Reviewer ${name}` }
            }
            """);
        cli.Write(".agents/lib/index.ts", "export { SYSTEM, reviewerNamed } from './prompts'\n");
        cli.Write(".agents/reviewer.ts", """
            import type { AgentDefinition } from './types/agent-definition'
            import { SYSTEM, reviewerNamed } from './lib'

            const model: string = 'test/fake-model'
            export default {
              ...reviewerNamed('ts-reviewer'),
              model,
              toolNames: ['read_files', 'end_turn'] as const,
              systemPrompt: SYSTEM,
              instructionsPrompt: 'Answer: [[reply:typed and loaded]]',
            } satisfies AgentDefinition
            """);
        cli.Write(".agents/plain.mjs", """
            import { SYSTEM } from './lib/prompts.js'
            export default { id: 'plain-js', displayName: 'Plain', model: 'test/fake-model', systemPrompt: SYSTEM + ' (js)' }
            """);
        cli.Write(".agents/reviewer.test.ts", "throw new Error('tests are not agents')\n");
        cli.Write(".agents/skills/x/helper.ts", "throw new Error('skills are not agents')\n");

        var result = await cli.RunAsync(["-p", "--agent", "ts-reviewer", "Review please"]);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("typed and loaded", result.Out.Trim());
        Assert.Equal("", result.Error.Trim());
        var request = server.Llm.Requests().Last(r => r.ToJsonString().Contains(nonce));
        Assert.StartsWith($"You review code. Marker {nonce}.", (string?)request["messages"]![0]!["content"]);

        var js = await cli.RunAsync(["-p", "--agent", "plain-js", "hi"]);
        Assert.True(js.ExitCode == 0, js.Error);
        Assert.Contains(server.Llm.Requests(), r => ((string?)r["messages"]![0]!["content"])!.StartsWith($"You review code. Marker {nonce}. (js)"));

        // The transpiled files are cached by hash, readable by the user only; a cached result is used as it is.
        var cache = Path.Combine(cli.Home, ".cache", "codebuff", "transpiled");
        var files = Directory.GetFiles(cache, "*.js");
        Assert.True(files.Length >= 4, string.Join(", ", files));
        Assert.All(files, f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(cache));
        var reviewerJs = files.Single(f => File.ReadAllText(f).Contains("typed and loaded"));
        File.WriteAllText(reviewerJs, File.ReadAllText(reviewerJs).Replace("typed and loaded", "served from the cache"));
        var cached = await cli.RunAsync(["-p", "--agent", "ts-reviewer", "Review please"]);
        Assert.Equal("served from the cache", cached.Out.Trim());
    }

    [Fact]
    public async Task A_file_that_fails_names_file_line_and_reason_and_the_other_agents_still_load()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write(".agents/syntax.ts", "const a: number = 1\nexport default { id: 'syntax', model: 'm',\n");
        cli.Write(".agents/package-import.ts", "import { merge } from 'lodash'\n\nexport default { id: 'pkg', displayName: 'P', model: 'm', x: merge({}, {}) }\n");
        cli.Write(".agents/node-import.ts", "// reads a file\nimport fs from 'node:fs'\nexport default { id: 'nodefs', displayName: 'N', model: 'm', x: fs.readFileSync('/etc/passwd', 'utf8') }\n");
        cli.Write(".agents/throws.ts", "const ok = 1\n\nthrow new Error('broken on purpose')\n");
        cli.Write(".agents/outside.ts", "import x from '../secret'\nexport default { id: 'outside', displayName: 'O', model: 'm', x }\n");
        cli.Write(".agents/no-id.ts", "export default { displayName: 'Nameless', model: 'm' }\n");
        cli.Write("secret.ts", "export default 1\n");

        var result = await cli.RunAsync(["-p", "--agent", "helper", "hi"]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("Hello from the fake LLM! You are talking to test/fake-model.", result.Out.Trim());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(lines, l => l.StartsWith("Agent not loaded: .agents/syntax.ts:3: Unexpected token", StringComparison.Ordinal));
        Assert.Contains("Agent not loaded: .agents/package-import.ts:1: imports the package \"lodash\"; only relative imports of files in .agents/ are supported", lines);
        Assert.Contains(lines, l => l.StartsWith("Agent not loaded: .agents/node-import.ts:2: imports the Node.js module \"node:fs\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Agent not loaded: .agents/throws.ts:3: ", StringComparison.Ordinal) && l.Contains("broken on purpose"));
        Assert.Contains(lines, l => l.StartsWith("Agent not loaded: .agents/outside.ts:1: imports \"../secret\", which is outside the .agents folder", StringComparison.Ordinal));
        Assert.Contains("Agent not loaded: .agents/no-id.ts: it has no \"id\"; every agent definition needs one.", lines);
        Assert.Equal(6, lines.Length);
    }

    [Fact]
    public async Task Definition_files_and_imports_linking_out_of_the_project_are_not_read_and_the_problem_names_them()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        var secret = $"secret-{Guid.NewGuid():N}";
        var outside = Directory.CreateDirectory($"/var/tmp/cb-links-{Guid.NewGuid():N}").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "agent.json"), $$"""{ "id": "leaked", "displayName": "{{secret}}", "model": "m" }""");
            File.WriteAllText(Path.Combine(outside, "lib.ts"), $"export const text = '{secret}'\n");
            cli.Write(".agents/uses-lib.ts", "import { text } from './lib'\nexport default { id: 'uses-lib', displayName: text, model: 'm' }\n");
            File.CreateSymbolicLink(Path.Combine(cli.Project, ".agents", "leak.json"), Path.Combine(outside, "agent.json"));
            File.CreateSymbolicLink(Path.Combine(cli.Project, ".agents", "lib.ts"), Path.Combine(outside, "lib.ts"));
            // Unbounded reading of an endless file would hang or exhaust memory.
            File.CreateSymbolicLink(Path.Combine(cli.Project, ".agents", "zero.json"), "/dev/zero");

            var result = await cli.RunAsync(["-p", "--agent", "helper", "hi"]);

            Assert.True(result.ExitCode == 0, result.Error);
            Assert.Equal("Hello from the fake LLM! You are talking to test/fake-model.", result.Out.Trim());
            var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Contains(lines, l => l.StartsWith("Agent not loaded: .agents/leak.json: ", StringComparison.Ordinal) && l.Contains("outside"));
            Assert.Contains(lines, l => l.StartsWith("Agent not loaded: .agents/uses-lib.ts: ", StringComparison.Ordinal) && l.Contains("lib.ts is not read") && l.Contains("outside"));
            Assert.Contains(lines, l => l.StartsWith("Agent not loaded: .agents/zero.json: ", StringComparison.Ordinal) && l.Contains("/dev/zero"));
            Assert.DoesNotContain(secret, result.Error + result.Out);
            Assert.DoesNotContain(server.Llm.Requests(), r => r.ToJsonString().Contains(secret));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_module_that_allocates_without_bound_fails_to_load_naming_the_file_and_the_other_agents_load()
    {
        var (_, cli) = await server.NewProjectAsync();
        using var _ = cli;
        cli.Write(".agents/hog.ts", "let s = 'x'\nfor (let i = 0; i < 40; i++) s += s\nexport default { id: 'hog', displayName: s, model: 'm' }\n");
        cli.Write(".agents/fine.ts", "export default { id: 'fine', displayName: 'Fine', model: 'm' }\n");

        var result = await cli.RunAsync(["-p", "--agent", "helper", "hi"]);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("Hello from the fake LLM! You are talking to test/fake-model.", result.Out.Trim());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["Agent not loaded: .agents/hog.ts: evaluating it used more than 256 MB of memory"], lines);
    }
}
